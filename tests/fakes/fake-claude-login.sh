#!/bin/sh
# A `claude` for the login tests. `auth login|logout|status` behave like CLI 2.1.197's (same words, same
# prompt, code read as a line from the terminal) without any network; every other command runs the real
# pinned CLI, so one proxy can both log in and serve turns.
#
# login records each line it reads in $CLAUDE_CONFIG_DIR/fake-login-codes.txt, then:
#   no "#" in it    -> "Invalid code. ..." on stderr, keeps waiting (as the real CLI does)
#   good#<state>    -> writes a valid credentials file, "Login successful.", exit 0
#   anything else   -> "Login failed: ...", exit 1
here=$(cd "$(dirname "$0")" && pwd)
real="$here/../../.deps/claude-2.1.197/node_modules/.bin/claude"
[ -x "$real" ] || real=$(command -v claude) # mounted into the Docker image: the image's own CLI
cfg="${CLAUDE_CONFIG_DIR:-$HOME/.claude}"

if [ "$1" != auth ]; then
  exec "$real" "$@"
fi

case "$2" in
login)
  mkdir -p "$cfg"
  echo "$$" > "$cfg/fake-login.pid"
  printf 'Opening browser to sign in\342\200\246\n'
  printf "If the browser didn't open, visit: https://claude.com/cai/oauth/authorize?code=true&client_id=9d1c250a-e61b-44d9-88ed-5944d1962f5e&response_type=code&redirect_uri=https%%3A%%2F%%2Fplatform.claude.com%%2Foauth%%2Fcode%%2Fcallback&scope=org%%3Acreate_api_key+user%%3Aprofile+user%%3Ainference&code_challenge=fakechallenge&code_challenge_method=S256&state=fakestate\n"
  printf 'Paste code here if prompted > '
  while IFS= read -r line; do
    line=$(printf '%s' "$line" | tr -d '\r')
    printf '%s\n' "$line" >> "$cfg/fake-login-codes.txt"
    case "$line" in
    *'#'*) ;;
    *) printf 'Invalid code. Please make sure the full code was copied.\n' >&2; continue ;;
    esac
    case "$line" in
    good#*)
      expires=$(( $(date +%s) * 1000 + 3600000 ))
      printf '{"claudeAiOauth":{"accessToken":"sk-ant-oat01-FAKEACCESS","refreshToken":"sk-ant-ort01-FAKEREFRESH","expiresAt":%s,"scopes":["user:inference"],"subscriptionType":"max"}}\n' "$expires" > "$cfg/.credentials.json"
      printf 'Login successful.\n'
      exit 0 ;;
    *)
      printf 'Login failed: Request failed with status code 400\n' >&2
      exit 1 ;;
    esac
  done
  exit 1 ;;
logout)
  rm -f "$cfg/.credentials.json"
  echo logout >> "$cfg/fake-logout-calls.txt"
  printf 'Successfully logged out from your Anthropic account.\n'
  exit 0 ;;
status)
  if [ -f "$cfg/.credentials.json" ]; then
    printf '{\n  "loggedIn": true,\n  "authMethod": "claude.ai",\n  "apiProvider": "firstParty",\n  "subscriptionType": "max"\n}\n'
    exit 0
  fi
  printf '{\n  "loggedIn": false,\n  "authMethod": "none",\n  "apiProvider": "firstParty"\n}\n'
  exit 1 ;;
*)
  exec "$real" "$@" ;;
esac
