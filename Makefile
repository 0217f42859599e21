# Kappa: AWS-Lambda-style functions on Kubernetes. `make up`, then `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
LOCAL_KUBECONFIG := $(CURDIR)/.local-cluster/kubeconfig
KWOK_NODES ?= 0

.PHONY: help up operator gateway example test test-unit test-integration test-e2e lint lint-shell venv deps \
        deps-test k8s-binaries images-export first-run \
        cluster-up cluster-down images crds gateway-url bench-cluster bench-coldstart bench-coldstart-phases bench-gateway bench-gateway-ceiling bench-streaming clean \
        bench-eventsources bench-eventsources-brokers bench-autoscaler bench-autoscaler-poke \
        bench-async bench-auth bench-tracing bench-zygote bench-agent-start bench-node-pool bench-multiconc bench-node-start install uninstall tools lint-chart chart-crds docs bench-scale bench-scale-floor bench-operator-start bench-kopf-gate bench-operator-memory bench-stats-reports mutation

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

up: ## fresh machine → local cluster, Kappa installed (Helm), example invoked; numbered steps, logs in .local-cluster/logs
	e2e/local/up.sh --kwok-nodes $(KWOK_NODES)

# kubectl and helm: from PATH when there and fit, built (cached) otherwise (e2e/local/tool.sh).
KUBECTL = KUBECONFIG=$${KUBECONFIG:-$(LOCAL_KUBECONFIG)} "$$(KUBECONFIG=$${KUBECONFIG:-$(LOCAL_KUBECONFIG)} e2e/local/tool.sh kubectl)"
STEP = e2e/local/steps.sh

install: ## helm upgrade --install charts/kappa (CRDs applied first) into KUBECONFIG's cluster, and wait
	charts/install.sh $(HELM_ARGS)

uninstall: ## helm uninstall Kappa (CRDs and Functions stay, as Helm keeps a chart's CRDs)
	KUBECONFIG=$${KUBECONFIG:-$(LOCAL_KUBECONFIG)} "$$(e2e/local/tool.sh helm)" uninstall kappa -n kappa-system --wait

tools: ## build helm, kubeconform and kstatus from Go modules, and the offline schemas (cached)
	e2e/local/build-tools.sh

lint-chart: venv ## helm lint + kubeconform -strict of the chart (every ci/ values file) and examples/
	charts/lint.sh

chart-crds: ## copy crds/ into charts/kappa/crds/ (tests/unit/test_chart.py fails while they differ)
	rm -f charts/kappa/crds/*.yaml && cp crds/*.yaml charts/kappa/crds/

docs: venv ## regenerate docs/reference.md from the CRDs in crds/
	$(VENV)/bin/kappa reference --crds crds --out docs/reference.md

# operator/gateway: the chart applied without waiting (a pod of an image replaced under the
# same tag may never get ready), then the restart picks up the image and is waited for.
operator: ## install the chart and restart the operator (so a freshly imported image runs)
	charts/install.sh --wait=false $(HELM_ARGS)
	$(KUBECTL) -n kappa-system rollout restart deployment/kappa-operator
	$(KUBECTL) -n kappa-system rollout status deployment/kappa-operator --timeout=180s

gateway: ## install the chart and restart the gateway (so a freshly imported image runs)
	charts/install.sh --wait=false $(HELM_ARGS)
	$(KUBECTL) -n kappa-system rollout restart deployment/kappa-gateway
	$(KUBECTL) -n kappa-system rollout status deployment/kappa-gateway --timeout=180s

example: ## apply examples/hello-python (and who may invoke it), wait for Ready, invoke it once
	$(KUBECTL) apply -f examples/hello-python/function.yaml -f examples/hello-python/invoker.yaml
	$(KUBECTL) wait --for=condition=Ready function/hello-python --timeout=180s
	@url=$$($(MAKE) -s gateway-url) && \
	  token=$$($(KUBECTL) create token hello-invoker --audience kappa) && \
	  echo "POST $$url/2015-03-31/functions/hello-python/invocations (as hello-invoker)" && \
	  curl -sS --fail-with-body --retry 10 --retry-all-errors --retry-delay 1 -X POST \
	    -H "Authorization: Bearer $$token" \
	    "$$url/2015-03-31/functions/hello-python/invocations" -d '{"name": "Kappa"}' && echo

# pip names each package as it goes (no -q): a first install takes a minute or two.
$(PY): pyproject.toml constraints.txt | deps
	python3 -m venv $(VENV)
	$(PY) -m pip install --progress-bar off --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(PY)

venv: $(PY) ## the Python environment (.venv) with kappa and its dev tools, pinned by constraints.txt

deps: ## Debian packages `make up` needs: the cluster and the image builds (once per machine)
	e2e/local/deps.sh

deps-test: ## and the packages `make test` needs: compilers, Java/Maven, Redis, RabbitMQ, nats-server, shellcheck
	e2e/local/deps.sh --test

k8s-binaries: deps ## build the pinned Kubernetes binaries from Go modules (cached)
	e2e/local/build-k8s.sh

images: deps ## build the images from runtime-images/ and import them into the local cluster
	e2e/local/images.sh

IMAGES_DIR ?= images
images-export: deps ## write every image as a docker-archive under IMAGES_DIR (default images/) to load into any cluster
	@mkdir -p $(IMAGES_DIR)
	@# Assigned first: a failing build in `for a in $$(...)` would go unnoticed.
	@archives=$$(runtime-images/build.sh) && for a in $$archives; do \
	  name=$$(basename "$$a" | sed -E 's/-[0-9a-f]{16}\.tar$$/.tar/'); \
	  cp "$$a" "$(IMAGES_DIR)/$$name.tmp" && mv "$(IMAGES_DIR)/$$name.tmp" "$(IMAGES_DIR)/$$name" \
	    && echo "$(IMAGES_DIR)/$$name"; \
	done
	@echo "load them: kind load image-archive FILE | ctr -n k8s.io images import FILE | skopeo copy docker-archive:FILE docker://REGISTRY/NAME:TAG (README: Installing on your own cluster)"

cluster-up: ## start the local cluster (idempotent); KWOK_NODES=N adds simulated nodes
	e2e/local/cluster-up.sh --kwok-nodes $(KWOK_NODES)

cluster-down: ## stop the local cluster and remove everything it made (logs kept)
	e2e/local/cluster-down.sh

crds: ## apply Kappa's CRDs to the cluster in KUBECONFIG (default: the local cluster)
	$(KUBECTL) apply --server-side --force-conflicts -f crds/
	$(KUBECTL) wait --for=condition=Established --timeout=60s -f crds/

gateway-url: ## print the gateway's URL (nothing while the gateway is not installed)
	@$(KUBECTL) -n kappa-system get service kappa-gateway \
	  -o jsonpath='http://{.spec.clusterIP}{"\n"}' 2>/dev/null || true

lint: venv lint-shell ## ruff, mypy --strict, import-linter, shellcheck, the chart's lint
	$(VENV)/bin/ruff check operator tests e2e bench conftest.py
	$(VENV)/bin/ruff format --check operator tests e2e bench conftest.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	charts/lint.sh

# Every shell script of the repository (settings: .shellcheckrc).
SHELL_SCRIPTS = $(wildcard e2e/local/*.sh e2e/kind/*.sh runtime-images/*.sh runtime-images/nodejs-ric/*.sh \
  bench/*.sh charts/*.sh examples/*/*.sh) .ci/run runtime-images/nodejs-ric/bootstrap \
  runtime-images/runtime-python3.11/bootstrap runtime-images/runtime-java17/bootstrap
lint-shell: ## shellcheck over every shell script (installs Debian's shellcheck once)
	@e2e/local/deps.sh --lint
	shellcheck $(SHELL_SCRIPTS)

test: deps-test lint test-unit test-integration test-e2e ## every tier: unit, integration, e2e (in that order)

test-unit: venv ## tier 1: seconds, no processes
	$(PY) -m pytest tests/unit -m unit

# Not part of `make test`: about 7 minutes on one core (TESTING.md says when to run it).
mutation: venv ## mutation score of the pure core, per module (mutmut, one worker; TESTING.md)
	$(PY) tests/mutation/run.py

test-integration: venv deps-test ## tier 2: real processes on loopback
	@# Kafka's and ElasticMQ's jars, not under pytest's timeouts.
	@$(STEP) brokers "Kafka and ElasticMQ jars from Maven Central" -- \
	  bash -c 'e2e/local/fetch-brokers.sh && e2e/local/elasticmq.sh fetch'
	$(PY) -m pytest tests/integration -m integration

test-e2e: venv deps-test ## tier 3: a real cluster (KUBECONFIG, or the local one brought up)
	@# The local cluster's binaries and images are built here, not under pytest's timeouts.
	@if [ -z "$${KUBECONFIG:-}" ]; then \
	  $(STEP) kubernetes "Kubernetes binaries (first run: about 5 min)" -- e2e/local/build-k8s.sh && \
	  $(STEP) images "images (first run: about 7 min)" -- runtime-images/build.sh; fi
	$(PY) -m pytest e2e -m e2e --timeout 900

first-run: ## the first-run paths of `make up` with a fresh temporary cache (what CI runs; about 15 min)
	e2e/local/first-run.sh

bench-cluster: venv ## cluster-up timings: from down (warm caches), idempotent re-up, node Ready
	bench/cluster.sh

clean: cluster-down ## cluster-down, then remove logs and the venv
	rm -rf .local-cluster $(VENV) .test-results

bench-coldstart: venv ## cold calls at zero pods through the gateway vs a plain pod (p50/p99; BENCH_CALLS; needs `make up`)
	$(PY) bench/coldstart_calls.py --calls $${BENCH_CALLS:-20}

bench-pool-refill: venv ## a burst of cold calls (BENCH_BURST, 20: what one 2-CPU node holds) through a warm pool of as many: answers, and how fast it is full again (needs `make up`)
	$(PY) bench/coldstart_calls.py --burst $${BENCH_BURST:-20}

bench-coldstart-phases: venv ## pod creation → first response by phase, and apply → Ready (medians; BENCH_RUNTIME, BENCH_RUNS)
	$(PY) bench/coldstart.py --runtime $${BENCH_RUNTIME:-python3.11} --runs $${BENCH_RUNS:-5}

bench-zygote: venv ## agent start to all slots ready (perPod 1, 4, 8), runtimes exec'd vs forked from a zygote (no cluster; BENCH_RUNS)
	$(PY) bench/zygote.py --runs $${BENCH_RUNS:-9}

bench-agent-start: venv ## a plain pod's exec to first invoke answered (python3.11, nodejs22): runtimes started by the launcher vs after the agent's imports (no cluster; BENCH_RUNS)
	$(PY) bench/agent_start.py --runs $${BENCH_RUNS:-30}

bench-multiconc: venv ## 50 calls at once into one pod: an async handler (100 ms asyncio.sleep) at perRuntime 50 vs 1 (no cluster)
	$(PY) bench/multiconc.py

bench-node-pool: venv ## a nodejs22 pool pod's claim to first answer, its runtime started ahead vs at the claim (no cluster; BENCH_RUNS)
	$(PY) bench/node_pool.py --runs $${BENCH_RUNS:-15} --runtime nodejs22

bench-node-start: venv ## nodejs20/22 runtime start, exec to first /next: the image's entry vs before, compile cache, no V8 flags (no cluster; BENCH_RUNS)
	$(PY) bench/node_start.py --runs $${BENCH_RUNS:-15}

bench-gateway: venv ## warm invokes: gateway vs agent vs bare server vs of-watchdog; gateway RSS under 10x overload
	$(PY) bench/gateway.py

bench-gateway-ceiling: venv ## the gateway's own ceiling: it and of-watchdog in front of one bare server (wrk, vegeta; BENCH_BASELINE=REV runs that revision's gateway beside)
	$(PY) bench/gateway_ceiling.py --rounds $${BENCH_ROUNDS:-3} $${BENCH_BASELINE:+--baseline $$BENCH_BASELINE}

bench-streaming: venv ## first byte of a Node streaming handler's first write at the client, through the gateway (no cluster; BENCH_CALLS)
	$(PY) bench/streaming.py -n $${BENCH_CALLS:-20}

bench-auth: venv ## added latency of authentication (bearer, SigV4) with a warm cache vs auth off
	$(PY) bench/auth.py

bench-tracing: venv ## the gateway's p50/p99 with tracing off and on (to an in-process OTLP receiver), side by side
	$(PY) bench/tracing.py -n $${BENCH_CALLS:-3000}

bench-eventsources: venv ## events/s per event source into a no-op function, end-to-end latency at low load
	e2e/local/elasticmq.sh fetch >/dev/null
	$(PY) bench/eventsources.py
	$(MAKE) -s bench-eventsources-brokers

bench-eventsources-brokers: venv ## Kafka, RabbitMQ, NATS, Redis: events/s into a no-op function, source ceiling, latency
	$(PY) bench/eventsources_brokers.py

bench-autoscaler: venv ## trace-driven simulation: Kappa's decider vs KPA-like vs HPA-like (no cluster)
	$(PY) bench/autoscaler_sim.py --hours $${BENCH_HOURS:-1}

bench-autoscaler-poke: venv ## on the cluster: request at zero pods -> pod create requested (the 100 ms goal)
	$(PY) bench/autoscaler_poke.py --runs $${BENCH_RUNS:-10}

bench-async: venv ## async invocation: enqueue rate, events/s end to end, 202 -> handler start (nats-server)
	$(PY) bench/async_events.py

bench-scale: venv ## Functions (provisioned 1) in phases on kwok nodes: time to Ready, operator CPU/RSS, API requests, a change's roll (BENCH_PHASES=1000,5000,10000)
	$(PY) bench/scale.py --phases $${BENCH_PHASES:-1000,5000,10000}

bench-scale-floor: venv ## the control plane alone for N Functions on kwok nodes: one pod and one status write each, no operator (a floor for bench-scale; BENCH_FUNCTIONS=10000)
	$(PY) bench/control_plane_floor.py --functions $${BENCH_FUNCTIONS:-10000}

bench-operator-start: venv ## a replica's start with the cluster's objects present (after bench-scale --keep): peak RSS, CPU until idle (the in-cluster operator scaled to 0 meanwhile; BENCH_ARGS)
	$(PY) bench/operator_start.py $${BENCH_ARGS:-}

bench-kopf-gate: venv ## kopf's index gate at a replica's start, its toggle set vs ours: CPU per start for N objects listed (no cluster; BENCH_OBJECTS=1000,2000,4000)
	$(PY) bench/kopf_gate.py --objects $${BENCH_OBJECTS:-1000,2000,4000}

bench-stats-reports: venv ## the operator's CPU for 10 gateways x 10,000 Functions reporting each second: every usage total vs the changed ones (no cluster; BENCH_ARGS)
	$(PY) bench/stats_reports.py $${BENCH_ARGS:-}

bench-operator-memory: venv ## the operator alone on a private etcd + API server, no nodes: RSS, CPU, API requests per Function (BENCH_PHASES=1000,5000,10000; BENCH_ARGS)
	$(PY) bench/operator_memory.py --phases $${BENCH_PHASES:-1000,5000,10000} $${BENCH_ARGS:-}
