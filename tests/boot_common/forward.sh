# The guest's ways out, run by QEMU (guestfwd ...-cmd:) for each TCP
# connection the guest opens to 10.0.2.100:443 (NAME https) or :8883 (NAME
# mqtts), with the connection on stdin and stdout: logs it, then hands it
# to the emulator's listener whose port is in DIR/port-NAME, or closes it
# when no emulator runs (the platform is down). socat's own messages go
# nowhere: they would end up in the guest's TLS stream.
#   sh forward.sh DIR NAME
dir=$1
name=$2
echo "$name" >>"$dir/connections.log"
port=$(cat "$dir/port-$name" 2>/dev/null) || exit 0
exec socat -lf /dev/null - "TCP:127.0.0.1:$port"
