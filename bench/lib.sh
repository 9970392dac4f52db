# Helpers the bench/*.sh scripts share; sourced, never run.

# Waits up to 10 s for a server's stdout (in file $1) to announce "listening on URL"; prints
# the URL, or nothing when it never did.
announced_url() {
  for _ in $(seq 100); do grep -q "listening on" "$1" 2>/dev/null && break; sleep 0.1; done
  sed -n 's/.*listening on \(https\{0,1\}:[^ ]*\).*/\1/p' "$1" | head -1
}

# A TCP port free on loopback right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wrk's 99th percentile latency in milliseconds, from its --latency output on stdin.
wrk_p99_ms() {
  awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}'
}

# Starts `$BINARY serve` on a free loopback port with its data in $work/data, passing on further
# flags (and the caller's environment: `BOXOFFICE_ADMIN_KEY=k start_server ...`). Sets server_pid
# and base, or exits with the server's stderr when it never announces its URL.
start_server() {
  "$BINARY" serve --listen 127.0.0.1:0 --data-dir "$work/data" "$@" \
    >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  base=$(announced_url "$work/server.out")
  [ -n "$base" ] || {
    echo "$0: boxoffice did not start" >&2; cat "$work/server.err" >&2; exit 1
  }
}

# Stops the server start_server started, and forgets it.
stop_server() {
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

# Starts Debian's nginx as the HTTP peer, on a free loopback port with its files in
# $work/nginx, answering every path with a fixed 30-byte JSON body: NGINX names the binary; $1
# is "http", or "https" to serve TLS with the PEM pair $2 and $3. Sets nginx_pid and nginx_url
# once it answers.
start_nginx() {
  local scheme=$1 listen tls=""
  local port
  port=$(free_port)
  listen="127.0.0.1:$port"
  if [ "$scheme" = https ]; then
    listen="$listen ssl"
    tls="ssl_certificate $2; ssl_certificate_key $3; ssl_protocols TLSv1.2 TLSv1.3;"
  fi
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server {
    listen $listen;
    $tls
    location / { default_type application/json; return 200 '{"status":"ok","server":"ngx"}'; }
  }
}
CONF
  "$NGINX" -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  nginx_pid=$!
  nginx_url="$scheme://127.0.0.1:$port/"
  for _ in $(seq 50); do curl -sfk "$nginx_url" >/dev/null && break; sleep 0.1; done
}
