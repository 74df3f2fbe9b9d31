# The guest's one way out, run by QEMU (guestfwd ...-cmd:) for each TCP
# connection the guest opens to 10.0.2.100:443, with the connection on stdin
# and stdout: logs it, then hands it to the emulator whose port is in
# DIR/port, or closes it when no emulator runs (the platform is down).
# socat's own messages go nowhere: they would end up in the guest's TLS
# stream.
dir=$1
echo connection >>"$dir/connections.log"
port=$(cat "$dir/port" 2>/dev/null) || exit 0
exec socat -lf /dev/null - "TCP:127.0.0.1:$port"
