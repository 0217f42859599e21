"""Swap kube-network-policies' nftables `queue` expressions for the xtables NFQUEUE target,
and let it run on the node with a kubeconfig.

    python3 network-policies-xtqueue.py <copy of the module's source>

For kernels without CONFIG_NFT_QUEUE but with CONFIG_NFT_COMPAT and the xt NFQUEUE target
(network-policies.sh says why). Every place the source builds an `expr.Queue` gets
`xtQueue(number, bypass)`, defined in a file added next to it: revision 3 of the target,
whose info is xt_NFQ_info_v3 (queuenum, queues_total = 1, flags: NFQ_FLAG_BYPASS = 1),
host byte order, padded to 8 bytes as the kernel aligns it. Fails loudly when the source
is not the one this was written for (a count of the places differs).

Upstream runs as a DaemonSet and reads only the in-cluster configuration; the local
cluster runs its components as host processes, so cmd/main.go takes the kubeconfig named
by KUBECONFIG (client-go's BuildConfigFromFlags, which falls back to the in-cluster
configuration when it is empty).
"""

import re
import sys
from pathlib import Path

XT_QUEUE_GO = """package networkpolicy

import (
	"encoding/binary"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

// xtQueue is nftables' `queue num N [bypass]` as the xtables NFQUEUE target (revision 3),
// for kernels with CONFIG_NFT_COMPAT but without CONFIG_NFT_QUEUE.
func xtQueue(num uint16, bypass bool) expr.Any {
	info := make([]byte, 8) // xt_NFQ_info_v3: queuenum, queues_total, flags; aligned to 8
	binary.NativeEndian.PutUint16(info[0:], num)
	binary.NativeEndian.PutUint16(info[2:], 1)
	if bypass {
		binary.NativeEndian.PutUint16(info[4:], 1) // NFQ_FLAG_BYPASS
	}
	unknown := xt.Unknown(info)
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &unknown}
}
"""

# A `queue := &expr.Queue{Num: ...}` followed by an `if` that sets its bypass flag.
BLOCK = re.compile(
    r"queue := &expr\.Queue\{Num: (uint16\([^)]*\))\}\n"
    r"(\s*)if ([^{]+) \{\n\s*queue\.Flag = expr\.QueueFlagBypass\n\s*\}"
)
INLINE = re.compile(r"&expr\.Queue\{Num: (uint16\([^)]*\)), Flag: expr\.QueueFlagBypass\}")

# The places in v0.8.0: two blocks in controller.go, one inline in dnsagent.go.
EXPECTED = {"controller.go": (2, 0), "dnsagent.go": (0, 1)}


def main(root: Path) -> None:
    package = root / "pkg" / "networkpolicy"
    for name, (blocks, inlines) in EXPECTED.items():
        path = package / name
        text = path.read_text()
        text, found_blocks = BLOCK.subn(r"queue := xtQueue(\1, \3)", text)
        text, found_inlines = INLINE.subn(r"xtQueue(\1, true)", text)
        if (found_blocks, found_inlines) != (blocks, inlines):
            sys.exit(
                f"{path}: {found_blocks} queue blocks and {found_inlines} inline queues, "
                f"expected {blocks} and {inlines}: not the source this patch is for"
            )
        if "expr.Queue" in text:
            sys.exit(f"{path}: an nftables queue expression is left")
        path.write_text(text)
    (package / "xtqueue.go").write_text(XT_QUEUE_GO)
    main_go = root / "cmd" / "main.go"
    text = main_go.read_text()
    replaced = text.replace(
        "config, err := rest.InClusterConfig()",
        'config, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))',
    ).replace('\t"k8s.io/client-go/rest"\n', '\t"k8s.io/client-go/tools/clientcmd"\n')
    if replaced.count("clientcmd.") != 1 or "rest." in replaced:
        sys.exit(f"{main_go}: not the source this patch is for (its client configuration)")
    main_go.write_text(replaced)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
