# Sourced by scripts/test and scripts/cluster: the Python test tools (SecantusDB, schemathesis, linters),
# pinned in scripts/test-requirements.txt, in ./.venv, and small helpers that use them.

venv=.venv
requirements=scripts/test-requirements.txt

# Creates ./.venv if needed and installs the pinned tools when the pins changed.
ensure_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating $venv for the test tools"
    if ! python3 -m venv "$venv"; then
      rm -rf "$venv"
      echo "error: 'python3 -m venv' failed; on Debian/Ubuntu install python3-venv (apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
  if ! cmp -s "$requirements" "$venv/.installed-requirements"; then
    echo "==> installing the pinned test tools (SecantusDB, schemathesis, linters) into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.installed-requirements"
  fi
}

# A free TCP port on 127.0.0.1.
free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID NAME LOG: waits (up to 60 s) until 127.0.0.1:PORT accepts connections; fails with the
# log if process PID dies first.
wait_port() {
  local port=$1 pid=$2 name=$3 log=$4
  for attempt in $(seq 1 300); do
    if "$venv/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null || [ "$attempt" -eq 300 ]; then
      echo "error: $name did not start; its log ($log):" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.2
  done
}
