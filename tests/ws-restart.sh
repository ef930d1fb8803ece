#!/usr/bin/env bash
# tests/ws-restart.sh: push-ws killed with SIGKILL in the middle of a stream and started
# again: clients that reconnect and resubscribe with their last seq get every message exactly
# once, in order.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 4

CLIENTS=5 TOTAL=300
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

# Clients that keep reconnecting (0.2 s apart) and resubscribing from their last seq.
stream_start $CLIENTS $TOTAL
# Kill the sidecar once about a third has gone out, then start it again on the same port.
wait_seq stream 100
killed_at=$($PSQL -c "SELECT last_seq FROM push.channel WHERE name = 'stream'")
stop_ws KILL
sleep 0.5
start_ws || { echo "Bail out! push-ws did not restart"; exit 1; }
stream_wait
diag "killed at seq $killed_at of $TOTAL"
is "$WS_STATUS" 137 "push-ws was killed with SIGKILL mid-stream"
ok "$([ "$killed_at" -lt "$TOTAL" ] && echo 0 || echo 1)" "the kill came before the last message"
is "$(grep reconnected "$T/result")" "reconnected $CLIENTS" "every client reconnected"
is "$(grep exact "$T/result")" "exact $CLIENTS" "every client got seqs 1..$TOTAL exactly once, in order"
tap_done
