/*
 * test_notify: plays the service manager.  Each test binds an AF_UNIX
 * datagram socket (a path in a temporary directory, or an abstract name),
 * points NOTIFY_SOCKET at it, calls notify_* and compares the datagrams
 * that arrive with the exact text systemd expects; and it reads the
 * watchdog settings from WATCHDOG_USEC and WATCHDOG_PID.  The same tests
 * pass with and without libsystemd, which is what keeps the hand-written
 * fallback honest (build with -DFEEDD_LIBSYSTEMD=OFF to run it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "feedd/notify.h"

/* The manager's end: a bound socket, and the directory holding it (empty
 * for an abstract name). */
struct manager {
	int fd;
	char dir[256];
	char path[300];
};

static void manager_bind(struct manager *m, const struct sockaddr_un *sa, socklen_t len)
{
	m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(m->fd >= 0);
	if (bind(m->fd, (const struct sockaddr *)sa, len) != 0)
		fail_msg("bind: %s", strerror(errno));
}

/* Listens on a socket file in a new temporary directory. */
static void manager_on_path(struct manager *m)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(m->dir, sizeof m->dir, "%s/feedd-notify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->path, sizeof m->path, "%s/notify", m->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(m->path) < sizeof sa.sun_path);
	strcpy(sa.sun_path, m->path);
	manager_bind(m, &sa, sizeof sa);
	assert_int_equal(setenv("NOTIFY_SOCKET", m->path, 1), 0);
}

/* Listens on a name in the abstract namespace, unique to this process. */
static void manager_on_abstract(struct manager *m)
{
	m->dir[0] = '\0';
	snprintf(m->path, sizeof m->path, "@feedd-test-notify-%ld", (long)getpid());
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(m->path);
	memcpy(sa.sun_path + 1, m->path + 1, n - 1);
	manager_bind(m, &sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	assert_int_equal(setenv("NOTIFY_SOCKET", m->path, 1), 0);
}

static void manager_close(struct manager *m)
{
	close(m->fd);
	if (m->dir[0]) {
		unlink(m->path);
		rmdir(m->dir);
	}
	unsetenv("NOTIFY_SOCKET");
}

/* Receives one datagram into buf (waiting at most 5 s: a missing message
 * fails the test instead of hanging it). */
static void receive(struct manager *m, char *buf, size_t size)
{
	struct pollfd p = {.fd = m->fd, .events = POLLIN};
	int r = poll(&p, 1, 5000);
	if (r != 1)
		fail_msg("no message arrived on %s", m->path);
	ssize_t n = recv(m->fd, buf, size - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
}

/* The next datagram is exactly want. */
static void expect(struct manager *m, const char *want)
{
	char got[8192];
	receive(m, got, sizeof got);
	assert_string_equal(got, want);
}

/* Nothing (more) has arrived. */
static void expect_nothing(struct manager *m)
{
	char got[64];
	ssize_t n = recv(m->fd, got, sizeof got, MSG_DONTWAIT);
	if (n >= 0)
		fail_msg("unexpected message of %zd bytes on %s", n, m->path);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* RELOADING=1 followed by a MONOTONIC_USEC taken during the call. */
static void expect_reloading(struct manager *m)
{
	char got[256];
	uint64_t before = monotonic_usec();
	notify_reloading();
	uint64_t after = monotonic_usec();
	receive(m, got, sizeof got);
	static const char head[] = "RELOADING=1\nMONOTONIC_USEC=";
	if (strncmp(got, head, sizeof head - 1) != 0)
		fail_msg("reloading message is \"%s\"", got);
	const char *digits = got + sizeof head - 1;
	char *end;
	assert_true(*digits >= '1' && *digits <= '9');
	uint64_t usec = strtoull(digits, &end, 10);
	assert_string_equal(end, "");
	assert_true(usec >= before && usec <= after);
}

/* Every message, in the order the daemon sends them. */
static void exercise(struct manager *m)
{
	assert_true(notify_available());
	notify_status("starting: %d feeds", 12);
	expect(m, "STATUS=starting: 12 feeds");
	notify_ready();
	expect(m, "READY=1");
	notify_watchdog();
	expect(m, "WATCHDOG=1");
	expect_reloading(m);
	notify_ready();
	expect(m, "READY=1");
	notify_stopping();
	expect(m, "STOPPING=1");
	expect_nothing(m);
}

static void test_path_socket(void **state)
{
	struct manager m;
	manager_on_path(&m);
	exercise(&m);
	manager_close(&m);
}

static void test_abstract_socket(void **state)
{
	struct manager m;
	manager_on_abstract(&m);
	exercise(&m);
	manager_close(&m);
}

static void test_status_text(void **state)
{
	struct manager m;
	manager_on_path(&m);

	/* A line break must not smuggle in another assignment. */
	notify_status("feed %s failed:\n%s\r\n", "irna-en", "READY=1");
	expect(&m, "STATUS=feed irna-en failed: READY=1  ");
	notify_status("%s", "");
	expect(&m, "STATUS=");

	/* Long text keeps 1023 bytes, cut before a character that would not
	 * fit whole ("\xc3\xa9" is U+00E9, two bytes). */
	char text[1100], want[1200];
	memset(text, 'a', 1023);
	text[1023] = '\0';
	notify_status("%s", text);
	snprintf(want, sizeof want, "STATUS=%s", text);
	expect(&m, want);
	memcpy(text + 1022, "\xc3\xa9xyz", 6);
	notify_status("%s", text);
	snprintf(want, sizeof want, "STATUS=%.1022s", text);
	expect(&m, want);
	memcpy(text + 1021, "\xc3\xa9xyz", 6);
	notify_status("%s", text);
	snprintf(want, sizeof want, "STATUS=%.1023s", text);
	expect(&m, want);
	assert_int_equal(strlen(want), 7 + 1023);
	expect_nothing(&m);
	manager_close(&m);
}

static void test_no_manager(void **state)
{
	/* A socket that nobody names: nothing may reach it. */
	struct manager m;
	manager_on_path(&m);

	unsetenv("NOTIFY_SOCKET");
	assert_false(notify_available());
	notify_ready();
	notify_reloading();
	notify_status("x");
	notify_watchdog();
	notify_stopping();

	/* Set but empty means unset, as for sd_notify. */
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_false(notify_available());
	notify_ready();
	notify_status("x");
	expect_nothing(&m);
	manager_close(&m);
}

static void test_unreachable(void **state)
{
	/* Not sent, logged once, and otherwise harmless. */
	static const char *const names[] = {
		"/nonexistent/feedd/notify",
		"relative/notify",
		"/",
		"@",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		assert_int_equal(setenv("NOTIFY_SOCKET", names[i], 1), 0);
		assert_true(notify_available());
		notify_ready();
		notify_status("still %s", "alive");
		notify_watchdog();
	}
	unsetenv("NOTIFY_SOCKET");
}

static void set_watchdog(const char *usec, const char *pid)
{
	if (usec)
		assert_int_equal(setenv("WATCHDOG_USEC", usec, 1), 0);
	else
		unsetenv("WATCHDOG_USEC");
	if (pid)
		assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
	else
		unsetenv("WATCHDOG_PID");
}

static void test_watchdog_enabled(void **state)
{
	char self[32], other[32];
	snprintf(self, sizeof self, "%ld", (long)getpid());
	snprintf(other, sizeof other, "%ld", (long)getpid() + 1);
	uint64_t usec = 1;

	set_watchdog(NULL, NULL);
	assert_false(notify_watchdog_enabled(&usec));
	assert_int_equal(usec, 0);
	assert_false(notify_watchdog_enabled(NULL));

	set_watchdog("60000000", NULL);
	assert_true(notify_watchdog_enabled(&usec));
	assert_int_equal(usec, 60000000);
	assert_true(notify_watchdog_enabled(NULL));

	set_watchdog("30000000", self);
	usec = 0;
	assert_true(notify_watchdog_enabled(&usec));
	assert_int_equal(usec, 30000000);

	/* Inherited from a parent that the manager watches: not ours. */
	set_watchdog("30000000", other);
	usec = 1;
	assert_false(notify_watchdog_enabled(&usec));
	assert_int_equal(usec, 0);

	/* Invalid values disable the watchdog rather than guess. */
	static const char *const bad_usec[] = {"0", "", "abc", "-5", "12s", "18446744073709551615"};
	for (size_t i = 0; i < sizeof bad_usec / sizeof bad_usec[0]; i++) {
		set_watchdog(bad_usec[i], NULL);
		usec = 1;
		if (notify_watchdog_enabled(&usec))
			fail_msg("WATCHDOG_USEC=\"%s\" enabled the watchdog", bad_usec[i]);
		assert_int_equal(usec, 0);
	}
	static const char *const bad_pid[] = {"0", "", "abc", "-1"};
	for (size_t i = 0; i < sizeof bad_pid / sizeof bad_pid[0]; i++) {
		set_watchdog("60000000", bad_pid[i]);
		if (notify_watchdog_enabled(&usec))
			fail_msg("WATCHDOG_PID=\"%s\" enabled the watchdog", bad_pid[i]);
	}
	set_watchdog(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket), cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_status_text), cmocka_unit_test(test_no_manager),
		cmocka_unit_test(test_unreachable), cmocka_unit_test(test_watchdog_enabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
