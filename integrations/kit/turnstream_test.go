package main

// Tests of turnstream.go in kit's own extension test pattern (examples/extensions/*_test.go in kit's
// source, pkg/extensions/test): the extension is loaded into a fresh Yaegi interpreter, as kit
// loads it, and driven with kit's event types. This file lives beside turnstream.go; it imports
// kit's internal packages, so it compiles only inside kit's module: copy both files into
// examples/extensions/ of a kit checkout and run `go test -run TestTurnstream .` there. turnstream's
// own test (test/kit/go-checks.test.ts) does the same without copying, with `go test -overlay`, and
// sets TURNSTREAM_KIT_EXTENSION to the extension's path.

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/kit/internal/extensions"
	"github.com/mark3labs/kit/pkg/extensions/test"
)

// turnstreamFake records the NDJSON events POSTed to /v1/events; failFirst requests answer 503.
type turnstreamFake struct {
	mu        sync.Mutex
	events    []map[string]interface{}
	requests  int
	failFirst int
	server    *httptest.Server
}

func newTurnstreamFake(t *testing.T, failFirst int) *turnstreamFake {
	f := &turnstreamFake{failFirst: failFirst}
	f.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests++
		if r.URL.Path != "/v1/events" || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if f.requests <= f.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		scanner := bufio.NewScanner(r.Body)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			var ev map[string]interface{}
			if err := json.Unmarshal(scanner.Bytes(), &ev); err != nil {
				t.Errorf("not JSON: %q", scanner.Text())
				continue
			}
			f.events = append(f.events, ev)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(f.server.Close)
	return f
}

func (f *turnstreamFake) snapshot() []map[string]interface{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]interface{}{}, f.events...)
}

func extensionPath() string {
	if p := os.Getenv("TURNSTREAM_KIT_EXTENSION"); p != "" {
		return p
	}
	return "turnstream.go"
}

// load starts a harness whose Context has a working session state store (kit's real one is shared
// by all extensions; the mock's is a no-op).
func load(t *testing.T, url string, env map[string]string) (*test.Harness, map[string]string) {
	t.Setenv("TURNSTREAM_URL", url)
	t.Setenv("TURNSTREAM_SHUTDOWN_WAIT", "2s")
	for k, v := range env {
		t.Setenv(k, v)
	}
	h := test.New(t)
	h.LoadFile(extensionPath())
	state := map[string]string{}
	var mu sync.Mutex
	ctx := h.Context().ToContext()
	ctx.SessionID = "kit-session-1"
	ctx.Model = "custom/custom"
	ctx.SetState = func(k, v string) { mu.Lock(); state[k] = v; mu.Unlock() }
	ctx.GetState = func(k string) (string, bool) { mu.Lock(); defer mu.Unlock(); v, ok := state[k]; return v, ok }
	ctx.DeleteState = func(k string) { mu.Lock(); delete(state, k); mu.Unlock() }
	ctx.ListState = func() []string {
		mu.Lock()
		defer mu.Unlock()
		keys := []string{}
		for k := range state {
			keys = append(keys, k)
		}
		return keys
	}
	h.Runner().SetContext(ctx)
	return h, state
}

func emit(t *testing.T, h *test.Harness, events ...extensions.Event) {
	t.Helper()
	for _, e := range events {
		if _, err := h.Emit(e); err != nil {
			t.Fatalf("emit %T: %v", e, err)
		}
	}
}

// oneTurn is a turn with two LLM calls and two tool calls (one failing), as kit emits it.
func oneTurn(state map[string]string) []extensions.Event {
	return []extensions.Event{
		extensions.SessionStartEvent{SessionID: "kit-session-1"},
		extensions.AgentStartEvent{Prompt: "list files"},
		extensions.StepStartEvent{StepNumber: 0},
		extensions.LLMUsageEvent{InputTokens: 601, OutputTokens: 20, CacheReadTokens: 400, Provider: "openai", Model: "gpt-4o-mini", StepNumber: 0, FinishReason: "tool_calls", Cost: 0.0002},
		extensions.ToolCallEvent{ToolName: "ls", ToolCallID: "call_1", Input: `{}`},
		extensions.ToolResultEvent{ToolName: "ls", ToolCallID: "call_1", Content: "a\nb"},
		extensions.ToolCallEvent{ToolName: "read", ToolCallID: "call_2", Input: `{"path":"nope"}`},
		extensions.ToolResultEvent{ToolName: "read", ToolCallID: "call_2", Content: "secret tool output", IsError: true},
		extensions.StepStartEvent{StepNumber: 1},
		extensions.LLMUsageEvent{InputTokens: 50, OutputTokens: 7, CacheReadTokens: 1000, CacheWriteTokens: 3, Provider: "openai", Model: "gpt-4o-mini", StepNumber: 1, FinishReason: "stop"},
		extensions.AgentEndEvent{StopReason: "completed", ToolCallCount: 2, ToolNames: []string{"ls", "read"}, LLMCallCount: 2},
	}
}

func TestTurnstream_Loads(t *testing.T) {
	h, _ := load(t, "http://127.0.0.1:1", nil)
	for _, e := range []extensions.EventType{extensions.SessionStart, extensions.AgentStart, extensions.LLMUsage, extensions.ToolCall, extensions.ToolResult, extensions.AgentEnd, extensions.SessionShutdown} {
		test.AssertHasHandlers(t, h, e)
	}
}

func TestTurnstream_StreamsOneTurn(t *testing.T) {
	fake := newTurnstreamFake(t, 0)
	h, state := load(t, fake.server.URL, map[string]string{"TURNSTREAM_AGENT": "my-kit", "TURNSTREAM_USER": "alice"})
	state["budget:cap"] = "0.50"
	emit(t, h, oneTurn(state)...)
	state["budget:spent"] = "0.0002"
	delete(state, "budget:cap")
	emit(t, h, extensions.SessionShutdownEvent{})

	events := fake.snapshot()
	types := []string{}
	ids := map[string]bool{}
	for _, ev := range events {
		types = append(types, ev["type"].(string))
		id := ev["id"].(string)
		if ids[id] {
			t.Errorf("duplicate id %s", id)
		}
		ids[id] = true
		if ev["session"] != "kit-session-1" || ev["v"] != float64(1) {
			t.Errorf("envelope: %v", ev)
		}
	}
	want := "session.start state.set turn.start llm.usage tool.start tool.end tool.start tool.end llm.usage turn.end state.set state.delete session.end"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("event types\n got %s\nwant %s", got, want)
	}
	start := events[0]
	if start["agent"] != "my-kit" || start["user"] != "alice" {
		t.Errorf("session.start: %v", start)
	}
	usage := events[3]
	if usage["inputTokens"] != float64(601) || usage["cacheReadTokens"] != float64(400) || usage["outputTokens"] != float64(20) ||
		usage["cost"] != 0.0002 || usage["costSource"] != "computed" || usage["provider"] != "openai" || usage["model"] != "gpt-4o-mini" ||
		usage["finishReason"] != "tool_calls" || usage["step"] != float64(0) {
		t.Errorf("llm.usage: %v", usage)
	}
	if _, has := events[8]["cost"]; has {
		t.Errorf("a zero kit cost must be left to turnstream's price table: %v", events[8])
	}
	if events[8]["cacheWriteTokens"] != float64(3) {
		t.Errorf("cache writes: %v", events[8])
	}
	failed := events[7]
	if failed["error"] != true || failed["toolName"] != "read" || failed["toolCallId"] != "call_2" {
		t.Errorf("failed tool.end: %v", failed)
	}
	if events[9]["stopReason"] != "completed" || events[9]["turn"] != events[2]["turn"] || events[3]["turn"] != events[2]["turn"] {
		t.Errorf("turn.end: %v (turn.start %v)", events[9], events[2])
	}
	if events[1]["key"] != "budget:cap" || events[1]["value"] != "0.50" || events[10]["key"] != "budget:spent" || events[11]["key"] != "budget:cap" {
		t.Errorf("state mirror: %v / %v / %v", events[1], events[10], events[11])
	}
	for _, ev := range events {
		line, _ := json.Marshal(ev)
		if strings.Contains(string(line), "secret tool output") {
			t.Errorf("tool output left the machine: %s", line)
		}
	}
}

func TestTurnstream_RetriesKeepIdsAndOrder(t *testing.T) {
	fake := newTurnstreamFake(t, 2) // two 503s, then accepted
	h, state := load(t, fake.server.URL, nil)
	emit(t, h, oneTurn(state)...)
	emit(t, h, extensions.SessionShutdownEvent{})
	events := fake.snapshot()
	if len(events) != 10 {
		t.Fatalf("want the 10 events once each after two refused batches, got %d", len(events))
	}
	seqs := []float64{}
	for _, ev := range events {
		seqs = append(seqs, ev["seq"].(float64))
	}
	if !sort.Float64sAreSorted(seqs) {
		t.Errorf("events out of order: %v", seqs)
	}
}

func TestTurnstream_NeverBlocksWhenTurnstreamIsAway(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close() // nothing listens there any more
	h, state := load(t, url, map[string]string{"TURNSTREAM_BUFFER": "5", "TURNSTREAM_SHUTDOWN_WAIT": "300ms"})
	started := time.Now()
	emit(t, h, oneTurn(state)...)
	if d := time.Since(started); d > 500*time.Millisecond {
		t.Errorf("handlers took %v with turnstream away", d)
	}
	started = time.Now()
	emit(t, h, extensions.SessionShutdownEvent{})
	if d := time.Since(started); d < 250*time.Millisecond || d > 2*time.Second {
		t.Errorf("shutdown waited %v, want about TURNSTREAM_SHUTDOWN_WAIT (300ms)", d)
	}
	if len(h.Context().GetPrints()) != 0 || len(h.Context().GetPrintErrors()) != 0 {
		t.Errorf("the extension must not print into kit's output")
	}
}
