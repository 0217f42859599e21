// kstatus prints how sigs.k8s.io/cli-utils' kstatus (the library Flux and the
// cli-utils appliers use; Argo CD's health checks read the same conditions) judges
// Kubernetes objects: one JSON line per object, {"kind", "name", "status", "message"},
// status being InProgress, Failed, Current, Terminating, NotFound or Unknown.
//
//	kubectl get functions -o json | kstatus
//
// Input: a JSON object, or a List of them (what `kubectl get -o json` prints).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON(data); err != nil {
		fail(fmt.Errorf("stdin is not a Kubernetes object in JSON: %w", err))
	}
	items := []unstructured.Unstructured{obj}
	if obj.IsList() {
		list, err := obj.ToList()
		if err != nil {
			fail(err)
		}
		items = list.Items
	}
	out := json.NewEncoder(os.Stdout)
	for i := range items {
		res, err := status.Compute(&items[i])
		if err != nil {
			fail(fmt.Errorf("%s/%s: %w", items[i].GetKind(), items[i].GetName(), err))
		}
		if err := out.Encode(verdict{items[i].GetKind(), items[i].GetName(), string(res.Status), res.Message}); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kstatus:", err)
	os.Exit(1)
}
