# bench/lib/nginx.sh: start_nginx, for the benchmarks that poll feeds.
# nginx runs in the foreground as one process (master_process off), on
# 127.0.0.1 only, on a free port, serving $www as static files with ETag
# and Last-Modified; its configuration, pid and logs go in $tmp/nginx.
# Sets port and nginx_pid; the caller kills nginx_pid when done.  Needs
# $nginx (the binary), $tmp, $www and a die function.
start_nginx() {
  local d=$tmp/nginx attempt i
  mkdir -p "$d"
  for ((attempt = 0; attempt < 5; attempt++)); do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  types { application/rss+xml xml; }
  default_type application/octet-stream;
  sendfile on;
  etag on;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    root $www;
  }
}
CONF
    "$nginx" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" </dev/null >>"$d/stdout" 2>&1 &
    nginx_pid=$!
    for ((i = 0; i < 100; i++)); do
      if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
        "$port" 2>/dev/null; then
        return 0
      fi
      kill -0 "$nginx_pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$nginx_pid" 2>/dev/null
    wait "$nginx_pid" 2>/dev/null
    nginx_pid=
  done
  cat "$d/error.log" "$d/stdout" >&2
  die "nginx did not start"
}
