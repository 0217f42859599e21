// argocd-health runs an Argo CD resource health check (a Lua script, as in argocd-cm's
// resource.customizations.health.<group>_<kind>) on Kubernetes objects the way Argo CD
// does: gopher-lua (the Lua VM Argo CD embeds), the object as the global
// `obj` (maps become tables, lists tables indexed from 1), the base, table, string and
// math libraries, and the table the script returns read as {status, message}. One JSON
// line per object: {"kind", "name", "status", "message"}.
//
//	kubectl get functions -o json | argocd-health charts/kappa/gitops/argocd-health.lua
//
// Input: a JSON object, or a List of them (what `kubectl get -o json` prints).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	lua "github.com/yuin/gopher-lua"
)

type verdict struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// The statuses Argo CD accepts from a health script.
var statuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

func main() {
	if len(os.Args) != 2 {
		fail(fmt.Errorf("usage: argocd-health SCRIPT.lua < objects.json"))
	}
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		fail(fmt.Errorf("stdin is not a JSON object: %w", err))
	}
	items := []map[string]any{obj}
	if list, ok := obj["items"].([]any); ok {
		items = items[:0]
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				fail(fmt.Errorf("a List item is not an object"))
			}
			items = append(items, m)
		}
	}
	out := json.NewEncoder(os.Stdout)
	for _, item := range items {
		status, message, err := health(string(script), item)
		meta, _ := item["metadata"].(map[string]any)
		kind, _ := item["kind"].(string)
		name, _ := meta["name"].(string)
		if err != nil {
			fail(fmt.Errorf("%s/%s: %w", kind, name, err))
		}
		if err := out.Encode(verdict{kind, name, status, message}); err != nil {
			fail(err)
		}
	}
}

func health(script string, obj map[string]any) (string, string, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		l.Push(l.NewFunction(lib.open))
		l.Push(lua.LString(lib.name))
		l.Call(1, 0)
	}
	l.SetGlobal("obj", decode(l, obj))
	if err := l.DoString(script); err != nil {
		return "", "", err
	}
	table, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", l.Get(-1).Type())
	}
	status := table.RawGetString("status").String()
	if !statuses[status] {
		return "", "", fmt.Errorf("the script returned status %q, which Argo CD does not know", status)
	}
	message := ""
	if m, ok := table.RawGetString("message").(lua.LString); ok {
		message = string(m)
	}
	return status, message, nil
}

// decode turns decoded JSON into Lua values as Argo CD's util/lua does.
func decode(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case map[string]any:
		table := l.NewTable()
		for key, item := range v {
			table.RawSetString(key, decode(l, item))
		}
		return table
	case []any:
		table := l.NewTable()
		for i, item := range v {
			table.RawSetInt(i+1, decode(l, item))
		}
		return table
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	default:
		return lua.LNil
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "argocd-health:", err)
	os.Exit(1)
}
