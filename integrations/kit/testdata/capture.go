//go:build ignore

// Package main is a test-only kit extension: it writes what kit itself reports — the session id,
// every LLMUsageEvent and the enriched AgentEndEvent — as JSON lines to $KIT_CAPTURE_FILE, so the
// kit integration tests (test/kit/) can compare turnstream's aggregates with kit's own figures. It
// also writes and deletes session state (ctx.SetState / ctx.DeleteState), the writes turnstream.go
// mirrors as state.set / state.delete.
package main

import (
	"encoding/json"
	"os"
	"strconv"
	"sync"

	"kit/ext"
)

var mu sync.Mutex

func record(kind string, v interface{}) {
	path := os.Getenv("KIT_CAPTURE_FILE")
	if path == "" {
		return
	}
	line, err := json.Marshal(map[string]interface{}{"kind": kind, "event": v})
	if err != nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	f.Write(append(line, '\n'))
	f.Close()
}

// Init registers the recorders.
func Init(api ext.API) {
	api.OnSessionStart(func(e ext.SessionStartEvent, ctx ext.Context) {
		record("session", map[string]interface{}{"SessionID": e.SessionID, "CtxSessionID": ctx.SessionID, "Model": ctx.Model})
		ctx.SetState("capture:scratch", "temporary")
	})
	api.OnLLMUsage(func(e ext.LLMUsageEvent, ctx ext.Context) {
		record("usage", e)
		n := 0
		if raw, ok := ctx.GetState("capture:llm-calls"); ok {
			n, _ = strconv.Atoi(raw)
		}
		ctx.SetState("capture:llm-calls", strconv.Itoa(n+1))
	})
	api.OnAgentEnd(func(e ext.AgentEndEvent, ctx ext.Context) {
		record("agent_end", e)
		ctx.DeleteState("capture:scratch")
		ctx.SetState("capture:last-stop", e.StopReason)
	})
	api.OnSessionShutdown(func(e ext.SessionShutdownEvent, ctx ext.Context) {
		record("shutdown", map[string]interface{}{})
	})
}
