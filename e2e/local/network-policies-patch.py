"""Patch kube-network-policies for the local cluster: the xtables NFQUEUE target for its
nftables `queue` expressions, rules replaced without unhooking its chains, and a
kubeconfig.

    python3 network-policies-patch.py <copy of the module's source>

For kernels without CONFIG_NFT_QUEUE but with CONFIG_NFT_COMPAT and the xt NFQUEUE target
(network-policies.sh says why). Every place the source builds an `expr.Queue` gets
`xtQueue(number, bypass)`, defined in a file added next to it: revision 3 of the target,
whose info is xt_NFQ_info_v3 (queuenum, queues_total = 1, flags: NFQ_FLAG_BYPASS = 1),
host byte order, padded to 8 bytes as the kernel aligns it. Fails loudly when the source
is not the one this was written for (a count of the places differs).

Upstream replaces its rules (on every change of the pods and policies it watches) by
deleting its table and making it again in one transaction. Deleting the table unhooks
its base chain, and the kernel then drops every packet queued from that hook and not
yet given its verdict (nf_queue_nf_hook_drop; the enforcer's verdict for it fails with
"netlink receive: no such file or directory"). A connection's first packet is queued, so
a new connection made at that moment lost its SYN and waited for TCP's 1 s resend: a
gateway's first connection to a pool pod just claimed (relabelled, so a change the
enforcer syncs) did so now and then. Here the sync keeps the table and its chains and
replaces what they hold in the same one transaction: every rule flushed and added again,
each set emptied and filled again (`keephooks.go`).

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

KEEP_HOOKS_GO = """package networkpolicy

import "github.com/google/nftables"

// replaceSet makes the set when it is absent and gives it exactly these elements, in the
// connection's batch (one transaction), without deleting it or its table.
func replaceSet(nft *nftables.Conn, set *nftables.Set, elements []nftables.SetElement) error {
	if err := nft.AddSet(set, nil); err != nil {
		return err
	}
	nft.FlushSet(set)
	if len(elements) == 0 {
		return nil
	}
	return nft.SetAddElements(set, elements)
}
"""

# syncNFTablesRules' flush of its table (the cleanup at exit deletes it alone: kept).
TABLE_REMADE = """\tnft.AddTable(table)
\tnft.DelTable(table)
\tnft.AddTable(table)

\t// only if no admin network policies are used
"""
TABLE_KEPT = """\tnft.AddTable(table)
\tnft.FlushTable(table) // every rule goes; the chains, and their hooks, stay

\t// only if no admin network policies are used
"""
SET_ADDED = re.compile(r"nft\.AddSet\((v[46]Set), (elementsV[46])\)")

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
    controller = package / "controller.go"
    text = controller.read_text()
    if text.count(TABLE_REMADE) != 1:
        sys.exit(f"{controller}: not the source this patch is for (its table's flush)")
    text, sets = SET_ADDED.subn(r"replaceSet(nft, \1, \2)", text.replace(TABLE_REMADE, TABLE_KEPT))
    if sets != 2:  # the v4 and v6 sets of pod addresses
        sys.exit(f"{controller}: {sets} sets of pod addresses, expected 2")
    controller.write_text(text)
    (package / "keephooks.go").write_text(KEEP_HOOKS_GO)
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
