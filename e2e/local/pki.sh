# PKI of the local cluster: one CA, the apiserver's serving certificate, client
# certificates for each component, and the service-account signing key.
# Made once per cluster with openssl; sourced by cluster-up.sh.
# shellcheck shell=bash

# client_cert NAME CN [O]: a client certificate signed by the cluster CA.
client_cert() {
  local name=$1 cn=$2 org=${3:-} subj
  subj="/CN=$cn"
  [ -n "$org" ] && subj="/O=$org$subj"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -CAcreateserial -days 365 -out "$PKI/$name.crt" \
    -extfile <(printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n') 2>/dev/null
  rm -f "$PKI/$name.csr"
}

# kubeconfig FILE CERTNAME SERVER: a kubeconfig that authenticates with CERTNAME.
kubeconfig() {
  local file=$1 name=$2 server=$3
  put "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kappa-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 <"$PKI/$name.crt")
    client-key-data: $(base64 -w0 <"$PKI/$name.key")
contexts:
- name: kappa-local
  context: {cluster: kappa-local, user: $name}
current-context: kappa-local
EOF
  chmod 600 "$file"
}

make_pki() {
  [ -f "$PKI/done" ] && return 0
  log "making PKI in $PKI"
  rm -rf "$PKI" && mkdir -p "$PKI"
  openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=kappa-local-ca" -days 3650 \
    -out "$PKI/ca.crt" 2>/dev/null
  # The apiserver is reached as 127.0.0.1 from the host, as the node IP by the
  # kubelet, and as the first service IP (kubernetes.default) from pods.
  openssl genrsa -out "$PKI/apiserver.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/apiserver.key" -subj "/CN=kube-apiserver" -out "$PKI/apiserver.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -CAcreateserial -days 365 -out "$PKI/apiserver.crt" -extfile <(printf '%s\n' \
      'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
      "subjectAltName=IP:127.0.0.1,IP:$NODE_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local") 2>/dev/null
  rm -f "$PKI/apiserver.csr"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  client_cert admin kappa-admin system:masters
  client_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  client_cert controller-manager system:kube-controller-manager
  client_cert scheduler system:kube-scheduler
  client_cert kube-proxy system:kube-proxy
  client_cert kubelet "system:node:$NODE_NAME" system:nodes
  touch "$PKI/done"
}
