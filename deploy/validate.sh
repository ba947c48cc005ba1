#!/usr/bin/env bash
# Offline checks of the deployment files in deploy/ (compose, HAProxy, Kubernetes), run by .ci/run:
#   (a) every YAML parses, plus structural checks that the pieces fit together (probes, selectors,
#       ports, grace periods, distinct replica ids, HAProxy servers = compose services);
#   (b) the kustomize render of deploy/kubernetes validated against the Kubernetes API schemas;
#   (c) `haproxy -c` and `docker compose config` when those tools are installed;
#   (d) with HAProxy installed, a failover drill of haproxy.cfg in front of two stand-in replicas.
# Prints one line per check ("ok: ..." / "skip: ..." / "FAIL: ...") and exits non-zero on a failure.
# DEPLOY_DIR=/path/to/copy checks a copy instead of deploy/ (used to see that a broken file fails).
# Skips for missing tools are allowed, except that with CI=true and VALIDATE_STRICT=1 a schema
# validation that cannot run is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

DEPLOY_DIR="$(cd "${DEPLOY_DIR:-deploy}" && pwd)"
KUBE_DIR="$DEPLOY_DIR/kubernetes"
# The oldest Kubernetes the manifests aim at, and the kubectl client CI has.
KUBE_VERSIONS="${VALIDATE_KUBE_VERSIONS:-1.30.0 1.32.0}"
VENV="${TMPDIR:-/tmp}/ado-ingest-validate-venv"
STRICT=0
[[ "${CI:-}" == true && "${VALIDATE_STRICT:-}" == 1 ]] && STRICT=1

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0

# A check that could not run: a note normally, a failure in strict CI.
cannot_run() {
  if ((STRICT)); then
    echo "FAIL: $1 (CI=true VALIDATE_STRICT=1)"
    failed=1
  else
    echo "skip: $1"
  fi
}

# The structural checks. Mode "files" reads everything under DEPLOY_DIR; mode "rendered" re-runs the
# Kubernetes checks on the kustomize output, which is what `kubectl apply -k` sends.
cat >"$work/check.py" <<'PY'
import glob, os, re, sys
import yaml

mode, target = sys.argv[1], sys.argv[2]
failures = 0

def ok(msg):
    print(f"ok: {msg}")

def fail(msg):
    global failures
    failures += 1
    print(f"FAIL: {msg}")

def check(cond, msg, detail=""):
    if cond:
        ok(msg)
    else:
        fail(f"{msg}{': ' + detail if detail else ''}")
    return bool(cond)

def duration_seconds(text, default):
    """'15s', '1m30s', '500ms' -> seconds (the service's duration syntax)."""
    if text is None:
        return default
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text).strip():
        raise ValueError(f"unparsable duration {text!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)

def env_map(env):
    """Compose environment as a dict, whether written as a mapping or a list of K=V."""
    if isinstance(env, dict):
        return {str(k): v for k, v in env.items()}
    out = {}
    for item in env or []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out

def subset(sel, labels):
    return bool(sel) and all(labels.get(k) == v for k, v in sel.items())

def load(path):
    try:
        with open(path) as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{path} parses as YAML: {e}")
        return None

def kubernetes_checks(docs, where):
    by_kind = {}
    for d in docs:
        if isinstance(d, dict) and "kind" in d:
            by_kind.setdefault(d["kind"], []).append(d)
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "Secret"):
        if not check(len(by_kind.get(kind, [])) == 1, f"{where}: exactly one {kind}",
                     f"found {len(by_kind.get(kind, []))}"):
            return
    dep = by_kind["Deployment"][0]
    svc = by_kind["Service"][0]
    pdb = by_kind["PodDisruptionBudget"][0]
    cm = by_kind["ConfigMap"][0]
    secret = by_kind["Secret"][0]
    spec = dep.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    pod_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    containers = pod.get("containers") or []
    if not check(len(containers) >= 1, f"{where}: Deployment has a container"):
        return
    c = containers[0]
    config = cm.get("data") or {}

    replicas = spec.get("replicas", 1)
    check(isinstance(replicas, int) and replicas >= 2, f"{where}: Deployment replicas >= 2", f"replicas={replicas}")
    ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    check((spec.get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
          and ru.get("maxUnavailable") in (0, "0%"),
          f"{where}: RollingUpdate with maxUnavailable 0", f"strategy={spec.get('strategy')}")
    check(subset((spec.get("selector") or {}).get("matchLabels") or {}, pod_labels),
          f"{where}: Deployment selector matches its pod labels",
          f"selector={spec.get('selector')} labels={pod_labels}")

    ports = c.get("ports") or []
    port_names = {p.get("name"): p.get("containerPort") for p in ports if p.get("name")}
    port_numbers = {p.get("containerPort") for p in ports}
    def resolves(port):
        return port in port_names or port in port_numbers
    listen = str(config.get("ADO_INGEST_LISTEN", "0.0.0.0:8080"))
    listen_port = int(listen.rsplit(":", 1)[1])
    check(listen_port in port_numbers, f"{where}: container port matches ADO_INGEST_LISTEN ({listen})",
          f"container ports {sorted(port_numbers)}")

    ready = (c.get("readinessProbe") or {}).get("httpGet") or {}
    live = (c.get("livenessProbe") or {}).get("httpGet") or {}
    check(ready.get("path") == "/readyz" and resolves(ready.get("port")),
          f"{where}: readinessProbe is GET /readyz on the container port", f"httpGet={ready}")
    check(live.get("path") == "/healthz" and resolves(live.get("port")),
          f"{where}: livenessProbe is GET /healthz on the container port", f"httpGet={live}")
    live_ft = (c.get("livenessProbe") or {}).get("failureThreshold", 3)
    check(live_ft >= 3, f"{where}: livenessProbe failureThreshold is generous (>= 3)", f"failureThreshold={live_ft}")

    res = c.get("resources") or {}
    req = res.get("requests") or {}
    check("cpu" in req and "memory" in req, f"{where}: resources.requests has cpu and memory", f"requests={req}")
    check("memory" in (res.get("limits") or {}), f"{where}: resources.limits has memory")

    pre = ((c.get("lifecycle") or {}).get("preStop")) or {}
    sleep = 0
    if "sleep" in pre:
        sleep = int((pre["sleep"] or {}).get("seconds", 0))
    elif "exec" in pre:
        cmd = (pre["exec"] or {}).get("command") or []
        if len(cmd) == 2 and os.path.basename(str(cmd[0])) == "sleep":
            sleep = float(cmd[1])
    check(sleep > 0, f"{where}: preStop sleeps before SIGTERM", f"preStop={pre}")
    grace = duration_seconds(config.get("ADO_INGEST_SHUTDOWN_GRACE"), 15)
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    check(tgps > grace + sleep,
          f"{where}: terminationGracePeriodSeconds {tgps} > shutdown grace {grace:g}s + preStop {sleep:g}s")

    env = {e.get("name"): e for e in c.get("env") or []}
    field = (((env.get("ADO_INGEST_REPLICA_ID") or {}).get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
    check(field == "metadata.name", f"{where}: ADO_INGEST_REPLICA_ID comes from metadata.name", f"fieldPath={field}")
    refs = c.get("envFrom") or []
    cm_refs = {(r.get("configMapRef") or {}).get("name") for r in refs} - {None}
    secret_refs = {(r.get("secretRef") or {}).get("name") for r in refs} - {None}
    check(cm["metadata"]["name"] in cm_refs and secret["metadata"]["name"] in secret_refs,
          f"{where}: envFrom names the ConfigMap and the Secret",
          f"envFrom={refs} configmap={cm['metadata']['name']} secret={secret['metadata']['name']}")
    secret_keys = set((secret.get("stringData") or {}) | (secret.get("data") or {}))
    needed = {"ADO_INGEST_STORE", "ADO_INGEST_AMQP_URL", "ADO_INGEST_HOOK_CREDENTIALS", "ADO_INGEST_ADMIN_TOKEN"}
    check(needed <= secret_keys, f"{where}: Secret has {', '.join(sorted(needed))}",
          f"missing {sorted(needed - secret_keys)}")
    store = str((secret.get("stringData") or {}).get("ADO_INGEST_STORE", "postgres://"))
    check(store.startswith(("postgres://", "postgresql://")),
          f"{where}: ADO_INGEST_STORE is PostgreSQL (replicas share it)", store.split("@")[-1])

    psc = pod.get("securityContext") or {}
    csc = c.get("securityContext") or {}
    check(csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, f"{where}: runAsNonRoot")
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    check(isinstance(uid, int) and uid != 0,
          f"{where}: numeric non-root runAsUser (the image's USER is a name)", f"runAsUser={uid}")
    check(csc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation false")
    check("ALL" in ((csc.get("capabilities") or {}).get("drop") or []), f"{where}: capabilities drop ALL")
    spread = pod.get("topologySpreadConstraints") or []
    anti = ((pod.get("affinity") or {}).get("podAntiAffinity") or {})
    check(any(subset(((t.get("labelSelector") or {}).get("matchLabels") or {}), pod_labels) for t in spread)
          or bool(anti), f"{where}: pods spread across nodes")

    check(subset((pdb.get("spec") or {}).get("selector", {}).get("matchLabels") or {}, pod_labels),
          f"{where}: PodDisruptionBudget selector matches the pod labels",
          f"selector={(pdb.get('spec') or {}).get('selector')} labels={pod_labels}")
    min_avail = (pdb.get("spec") or {}).get("minAvailable")
    check(isinstance(min_avail, int) and 1 <= min_avail < replicas,
          f"{where}: PodDisruptionBudget minAvailable {min_avail} lets drains proceed (< replicas {replicas})")
    check(subset((svc.get("spec") or {}).get("selector") or {}, pod_labels),
          f"{where}: Service selector matches the pod labels",
          f"selector={(svc.get('spec') or {}).get('selector')} labels={pod_labels}")
    svc_ports = (svc.get("spec") or {}).get("ports") or []
    check(bool(svc_ports) and all(resolves(p.get("targetPort", p.get("port"))) for p in svc_ports),
          f"{where}: Service targetPort is a container port",
          f"targetPorts={[p.get('targetPort') for p in svc_ports]} container ports={ports}")

def files_checks(deploy):
    paths = sorted(glob.glob(os.path.join(deploy, "**", "*.y*ml"), recursive=True))
    parsed = {}
    for p in paths:
        docs = load(p)
        if docs is not None:
            parsed[p] = docs
    check(len(parsed) == len(paths) and paths, f"all {len(paths)} YAML files in {deploy} parse")

    kube = os.path.join(deploy, "kubernetes")
    kust_path = os.path.join(kube, "kustomization.yaml")
    if kust_path in parsed:
        listed = set((parsed[kust_path][0] or {}).get("resources") or [])
        present = {os.path.relpath(p, kube) for p in parsed if p.startswith(kube + os.sep) and p != kust_path}
        check(listed == present, "kustomization.yaml lists exactly the manifests in kubernetes/",
              f"unlisted {sorted(present - listed)}, missing {sorted(listed - present)}")
        kust = parsed[kust_path][0]
        check(any(i.get("name") == "ado-ingest" for i in kust.get("images") or []),
              "kustomization.yaml has an images entry for ado-ingest")
        label_sets = [l.get("pairs") or {} for l in kust.get("labels") or []] + [kust.get("commonLabels") or {}]
        check(any(s.get("app.kubernetes.io/name") == "ado-ingest" for s in label_sets),
              "kustomization.yaml labels app.kubernetes.io/name: ado-ingest")
        kubernetes_checks([d for p, docs in parsed.items() if p.startswith(kube + os.sep) for d in docs], "kubernetes")
    else:
        fail(f"{kust_path} exists")

    compose_path = os.path.join(deploy, "compose.yaml")
    if compose_path not in parsed:
        fail(f"{compose_path} exists and parses")
        return
    services = (parsed[compose_path][0] or {}).get("services") or {}
    for name in ("postgres", "rabbitmq"):
        check(name in services, f"compose: service {name}")
    # The replicas: services of the ado-ingest image (merge keys are already resolved by PyYAML).
    replicas = {n: s for n, s in services.items()
                if str(s.get("image", "")).split(":")[0].split("/")[-1] == "ado-ingest"}
    envs = {n: env_map(s.get("environment")) for n, s in replicas.items()}
    ids = [e.get("ADO_INGEST_REPLICA_ID") for e in envs.values()]
    check(len(replicas) >= 2, f"compose: >= 2 ado-ingest replicas ({', '.join(replicas)})")
    check(all(ids) and len(set(ids)) == len(ids), "compose: replicas have distinct ADO_INGEST_REPLICA_ID", f"ids={ids}")
    check(all(str(e.get("ADO_INGEST_STORE", "")).startswith(("postgres://", "postgresql://")) for e in envs.values()),
          "compose: replicas share a PostgreSQL store")
    for n, s in replicas.items():
        grace = duration_seconds(envs[n].get("ADO_INGEST_SHUTDOWN_GRACE"), 15)
        stop = duration_seconds(s.get("stop_grace_period"), 10)
        check(stop > grace, f"compose: {n} stop_grace_period {stop:g}s > shutdown grace {grace:g}s")
    proxies = [n for n, s in services.items() if str(s.get("image", "")).startswith("haproxy")]
    check(proxies, "compose: a proxy service (haproxy)")

    cfg_path = os.path.join(deploy, "haproxy.cfg")
    try:
        cfg = open(cfg_path).read()
    except OSError as e:
        fail(f"{cfg_path} readable: {e}")
        return
    for n in proxies:
        check(any(str(v).split(":")[0] in ("./haproxy.cfg", "haproxy.cfg") for v in services[n].get("volumes") or []),
              f"compose: {n} mounts haproxy.cfg")
    servers = re.findall(r"^\s*server\s+(\S+)\s+(\S+)", cfg, re.M)
    hosts = [addr.rsplit(":", 1)[0] for _, addr in servers]
    check(servers and all(h in services for h in hosts), "haproxy.cfg: every server names a compose service",
          f"servers={hosts}")
    check(set(replicas) <= set(hosts), "haproxy.cfg: every compose replica is a server",
          f"missing {sorted(set(replicas) - set(hosts))}")
    for (name, addr) in servers:
        if addr.rsplit(":", 1)[0] in envs:
            listen = str(envs[addr.rsplit(":", 1)[0]].get("ADO_INGEST_LISTEN", "0.0.0.0:8080")).rsplit(":", 1)[1]
            check(addr.endswith(":" + listen), f"haproxy.cfg: server {name} uses the replica's port {listen}", addr)
    check(re.search(r"^\s*http-check\s+send\b.*\buri\s+/readyz\b", cfg, re.M),
          "haproxy.cfg: health check is GET /readyz")

try:
    if mode == "files":
        files_checks(target)
    else:
        docs = load(target)
        if docs is not None:
            kubernetes_checks(docs, "rendered")
except Exception as e:  # a malformed file must fail the run, not crash it with a traceback alone
    fail(f"structural checks ({mode}) raised {type(e).__name__}: {e}")
sys.exit(1 if failures else 0)
PY

# (a) Parse and structural checks.
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL: python3 with PyYAML is required"; exit 1; }
python3 "$work/check.py" files "$DEPLOY_DIR" || failed=1

# (b) Render with kustomize (offline: kubectl's built-in kustomize needs no cluster) and validate the
# result against the API schemas.
rendered=""
if command -v kubectl >/dev/null; then
  if kubectl kustomize "$KUBE_DIR" >"$work/rendered.yaml" 2>"$work/kustomize.err"; then
    echo "ok: kubectl kustomize renders $KUBE_DIR"
    rendered="$work/rendered.yaml"
    python3 "$work/check.py" rendered "$rendered" || failed=1
  else
    echo "FAIL: kubectl kustomize $KUBE_DIR: $(cat "$work/kustomize.err")"
    failed=1
  fi
else
  cannot_run "kubectl not installed: kustomize render (validating the raw manifests instead)"
fi

# kubernetes-validate (PyPI) bundles the OpenAPI schemas, so it needs no cluster. Installed on
# first use into a venv under $TMPDIR and reused afterwards.
kv=()
if python3 -c 'import kubernetes_validate' 2>/dev/null; then
  kv=(python3 -m kubernetes_validate)
elif [[ -x "$VENV/bin/kubernetes-validate" ]]; then
  kv=("$VENV/bin/kubernetes-validate")
elif { python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet --disable-pip-version-check \
         --timeout 20 --retries 1 kubernetes-validate; } >"$work/pip.log" 2>&1; then
  kv=("$VENV/bin/kubernetes-validate")
else
  echo "warning: could not install kubernetes-validate into $VENV (no network?):" >&2
  tail -n 3 "$work/pip.log" >&2 || true
fi
if ((${#kv[@]})); then
  if [[ -n "$rendered" ]]; then
    targets=("$rendered")
  else
    targets=()
    for f in "$KUBE_DIR"/*.yaml; do [[ "$(basename "$f")" == kustomization.yaml ]] || targets+=("$f"); done
  fi
  for v in $KUBE_VERSIONS; do
    if "${kv[@]}" --strict --quiet -k "$v" "${targets[@]}" >"$work/kv.out" 2>&1; then
      echo "ok: kubernetes-validate --strict against Kubernetes $v"
    else
      echo "FAIL: kubernetes-validate --strict against Kubernetes $v:"
      sed 's/^/  /' "$work/kv.out"
      failed=1
    fi
  done
else
  cannot_run "kubernetes-validate unavailable: schema validation of the Kubernetes manifests"
fi

# (c) The tools' own checks, when present.
if command -v haproxy >/dev/null; then
  if haproxy -c -q -f "$DEPLOY_DIR/haproxy.cfg" >"$work/haproxy.out" 2>&1; then
    echo "ok: haproxy -c $DEPLOY_DIR/haproxy.cfg"
  else
    echo "FAIL: haproxy -c $DEPLOY_DIR/haproxy.cfg:"; sed 's/^/  /' "$work/haproxy.out"; failed=1
  fi
else
  echo "skip: haproxy not installed (haproxy -c)"
fi

# (d) A failover drill of haproxy.cfg's balancing, when HAProxy is installed: the file with local
# addresses in front of two stand-in replicas; every hook must go to the first while it is up, and
# once it is SIGKILLed the very next hooks must be answered by the second, before the health
# check could have noticed (a `backup` server or a missing `option redispatch` fails this).
cat >"$work/drill.py" <<'PY'
import os, re, signal, socket, subprocess, sys, time, urllib.request

cfg_path, work = sys.argv[1], sys.argv[2]
STANDIN = r"""
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = sys.argv[2].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""

def free_ports(n):
    # All held open until all are chosen, so no port is handed out twice.
    held = [socket.socket() for _ in range(n)]
    for s in held:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in held]
    for s in held:
        s.close()
    return ports

def post(url):
    try:
        request = urllib.request.Request(url, data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.read().decode()
    except Exception as e:
        return "error " + str(getattr(e, "code", type(e).__name__))

front, port_a, port_b = free_ports(3)
cfg = open(cfg_path).read()
SERVER = re.compile(r"^(\s*server\s+\S+\s+)(\S+)(.*)$", re.M)
if len(SERVER.findall(cfg)) < 2:
    print("FAIL: haproxy failover drill: haproxy.cfg has fewer than two servers"); sys.exit(1)
# Local addresses: the listener, the first two `server` lines (later ones dropped), no Docker DNS
# on them (the `resolvers` section stays, unused). Assumes plain `server` lines, as the file has.
cfg = re.sub(r"^(\s*bind\s+)\S+", rf"\g<1>127.0.0.1:{front}", cfg, flags=re.M)
cfg = re.sub(r"[ \t]+(resolvers|init-addr)[ \t]+\S+", "", cfg)
lines, seen = [], 0
for line in cfg.splitlines():
    m = SERVER.match(line)
    if m:
        seen += 1
        if seen > 2:
            continue
        line = f"{m.group(1)}127.0.0.1:{port_a if seen == 1 else port_b}{m.group(3)}"
    lines.append(line)
local = os.path.join(work, "drill.cfg")
open(local, "w").write("\n".join(lines) + "\n")

procs = {}
# A SIGTERM to validate.sh must not leave HAProxy or the stand-ins running: exit through `finally`.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
def standin(name, port):
    procs[name] = subprocess.Popen([sys.executable, "-c", STANDIN, str(port), name],
                                   stderr=subprocess.DEVNULL)
try:
    standin("A", port_a)
    standin("B", port_b)
    procs["haproxy"] = subprocess.Popen(["haproxy", "-f", local], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{front}/hooks"
    deadline = time.time() + 15
    routed = False
    while not routed and time.time() < deadline:
        if procs["haproxy"].poll() is not None:
            print(f"FAIL: haproxy failover drill: haproxy -f {local} exited ({procs['haproxy'].returncode})")
            sys.exit(1)
        routed = post(url) == "A"
        if not routed:
            time.sleep(0.2)
    if not routed:
        print("FAIL: haproxy failover drill: no hook reached the first stand-in within 15 s")
        sys.exit(1)
    # Both up (and both past their first health checks): every hook to the first.
    time.sleep(5)
    before = [post(url) for _ in range(50)]
    procs["A"].send_signal(signal.SIGKILL)
    procs["A"].wait()
    killed = time.time()
    after = [post(url) for _ in range(50)]
    took = time.time() - killed
    ok = True
    if set(before) != {"A"}:
        print(f"FAIL: haproxy failover drill: with both up, hooks went to {sorted(set(before))}, not only the first")
        ok = False
    if set(after) != {"B"}:
        print(f"FAIL: haproxy failover drill: after the first was killed: {sorted(set(after))}, not only the second")
        ok = False
    # Only B answering after the kill is what shows the redispatch (a `backup` server or no
    # `option redispatch` gives 503s); the time bound only catches a drill that waited for the
    # health check to take A out (fall 2 x inter 2 s) instead.
    if took >= 4:
        print(f"FAIL: haproxy failover drill: 50 hooks after the kill took {took:.1f} s (waited for the health check)")
        ok = False
    if ok:
        print(f"ok: haproxy failover drill: 50 hooks to the first, then 50 to the second in {took:.2f} s after SIGKILL, none refused")
    sys.exit(0 if ok else 1)
finally:
    for p in procs.values():
        p.kill()
        p.wait()
PY
if command -v haproxy >/dev/null; then
  python3 "$work/drill.py" "$DEPLOY_DIR/haproxy.cfg" "$work" || failed=1
else
  echo "skip: haproxy not installed (failover drill)"
fi

if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  # A dummy credential: the file requires it (":?") and compose refuses to render without it.
  if ADO_INGEST_HOOK_CREDENTIALS="${ADO_INGEST_HOOK_CREDENTIALS:-validate:validate}" \
       docker compose -f "$DEPLOY_DIR/compose.yaml" config -q >"$work/compose.out" 2>&1; then
    echo "ok: docker compose config -q"
  else
    echo "FAIL: docker compose config:"; sed 's/^/  /' "$work/compose.out"; failed=1
  fi
else
  echo "skip: docker compose plugin not installed (docker compose config)"
fi

if ((failed)); then
  echo "deploy/validate.sh: FAILED" >&2
  exit 1
fi
echo "deploy/validate.sh: all checks passed"
