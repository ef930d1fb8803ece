# bench/nchan.sh: start_nchan for the benches that run Nchan beside push (sourced after tests/lib.sh).
# NCHAN_WORKERS (default 1) is nginx's number of workers.

# start_nchan: nginx with the nchan module on a free port, config and logs under $T/nginx.
# Sets NCHAN_BASE and NCHAN_PID.
start_nchan() {
    local port
    port=$(free_port)
    mkdir -p "$T/nginx"
    cat >"$T/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
daemon off;
master_process on;
worker_processes ${NCHAN_WORKERS:-1};
worker_rlimit_nofile 20000;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 16000; }
http {
  access_log $T/nginx/access.log;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fastcgi;
  uwsgi_temp_path $T/nginx/uwsgi;
  scgi_temp_path $T/nginx/scgi;
  server {
    listen 127.0.0.1:$port;
    location = /health { return 200 "ok\n"; }
    location ~ ^/sub/([\w.-]+)\$ {
      nchan_subscriber longpoll;
      nchan_channel_id \$1;
    }
    location ~ ^/ws/([\w.-]+)\$ {
      nchan_subscriber websocket;
      nchan_channel_id \$1;
    }
    location ~ ^/pub/([\w.-]+)\$ {
      nchan_publisher;
      nchan_channel_id \$1;
      nchan_message_buffer_length 1000;
      nchan_message_timeout 10m;
    }
  }
}
EOF
    nginx -e "$T/nginx/error.log" -p "$T/nginx" -c "$T/nginx/nginx.conf" >"$T/nginx/stderr.log" 2>&1 &
    NCHAN_PID=$!
    track_pid $NCHAN_PID
    NCHAN_BASE="http://127.0.0.1:$port"
    wait_for curl -sf -o /dev/null "$NCHAN_BASE/health" || { cat "$T/nginx/"*.log >&2; return 1; }
}
