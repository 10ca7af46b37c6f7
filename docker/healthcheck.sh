#!/bin/bash
# The image's HEALTHCHECK: GET /health on the proxy's own port, with bash alone (no curl in the image).
# Healthy when the proxy answers 200 with "status":"ok" within 5 s.
port="${HTTP_PORT:-3456}"
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$port" >&3
response=""
while IFS= read -r -t 5 line <&3; do response+="$line"$'\n'; done
response+="$line"
case "$response" in
"HTTP/1."?" 200 "*'"status":"ok"'*) exit 0 ;;
*) exit 1 ;;
esac
