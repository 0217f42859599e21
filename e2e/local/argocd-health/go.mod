// Runs Argo CD health scripts as Argo CD does, for tests: built by e2e/local/build-tools.sh.
module kappa.dev/localcluster/argocd-health

go 1.24

require github.com/yuin/gopher-lua v1.1.1
