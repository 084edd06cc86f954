//go:build ignore

// Package main is turnstream's kit extension: it streams kit's agent events to a turnstream server,
// so kit sessions get turnstream's per-turn aggregates, dashboards, budget alerts and replay.
//
//	TURNSTREAM_URL=http://127.0.0.1:8787 kit -e integrations/kit/turnstream.go "your prompt"
//
// Or drop this file into ~/.config/kit/extensions/ (or .kit/extensions/ in a project) to load it
// every time. kit interprets it (Yaegi), so it uses the standard library only.
//
// Configuration (environment):
//
//	TURNSTREAM_URL              turnstream's base URL (default http://127.0.0.1:8787); events go to $URL/v1/events
//	TURNSTREAM_TOKEN            bearer token, when turnstream runs with one
//	TURNSTREAM_AGENT            agent name on session.start (default "kit")
//	TURNSTREAM_USER             user id on session.start (optional; budget rules of scope "user" use it)
//	TURNSTREAM_BUFFER           events kept while turnstream is away (default 10000); more are dropped and counted
//	TURNSTREAM_SHUTDOWN_WAIT    how long kit's exit may wait to flush what is left (default 3s, a Go duration)
//	TURNSTREAM_DEBUG_LOG        a file to append the extension's own diagnostics to (default: none)
//	TURNSTREAM_DISABLED         "1" loads the extension but sends nothing
//
// What maps to what:
//
//	session start / shutdown      session.start (agent, user, attrs kit.model, kit.cwd) / session.end
//	agent start / end (one turn)  turn.start / turn.end (stopReason: kit's "completed", "cancelled", "error")
//	OnLLMUsage (one per call)     llm.usage: step, provider, model, tokens, cost, finishReason, durationMs
//	                              (time: when the call ended; durationMs: since kit's StepStart)
//	tool call / tool result       tool.start / tool.end (error: true when the result is an error)
//	ctx.SetState / DeleteState    state.set / state.delete — see the note on state below
//
// Session ids: kit-<id of kit's session file>, so `kit --continue` adds turns to the same session;
// kit-<random> for an ephemeral session (--no-session).
//
// Tokens: kit's LLMUsageEvent.InputTokens already EXCLUDES cache reads (OpenAI's prompt_tokens 1001
// with cached_tokens 400 arrives as InputTokens 601, CacheReadTokens 400) and cache writes, which is
// turnstream's convention (inputTokens excludes cache tokens), so the counts are sent as they are;
// subtracting again would under-count, adding would pay cache tokens twice.
//
// Cost: kit prices each call from its model registry. A positive cost is sent with
// costSource "computed"; a zero cost (a model kit has no price for, or OAuth) is left out, so
// turnstream prices the call from its own price table (or counts it as unpriced).
//
// State: kit has no event for state writes, and each extension runs in its own interpreter, so
// writes cannot be intercepted. The extension mirrors kit's session state (shared by all
// extensions) by comparing it with what it last sent at every hook it gets (session start, each
// LLM call, each tool result, turn end, shutdown): a changed or new key becomes state.set (the
// value as the JSON string kit stores), a vanished key state.delete. Two writes of one key between
// two hooks arrive as the last one, stamped with the time it was seen — last-write-wins state ends
// the same.
//
// It never slows or breaks the agent: handlers only append to a bounded in-memory buffer; one
// background goroutine sends batches (NDJSON, POST /v1/events) with retries and exponential
// backoff; when the buffer is full new events are dropped and counted (the count rides on
// session.end as attrs kit.dropped_events). At shutdown it waits at most TURNSTREAM_SHUTDOWN_WAIT
// for the buffer to drain. Event ids are fixed when an event is made (<session>:<run>:<seq>, run
// being random per kit process), so a retried batch is deduplicated by turnstream, and a resumed
// session never reuses an id.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"kit/ext"
)

// tsState is everything the extension keeps; one per kit process, guarded by mu.
type tsState struct {
	mu       sync.Mutex
	url      string
	token    string
	agent    string
	user     string
	disabled bool
	maxBuf   int
	wait     time.Duration
	debugLog string
	client   *http.Client

	run       string
	seq       int64
	session   string
	started   bool
	turn      string
	turns     int
	stepStart time.Time            // when the current LLM call started, as near as kit's events tell
	stepEnd   time.Time            // when it ended: its first tool call (zero: not yet)
	tools     map[string]time.Time // open tool calls by id
	toolNames map[string]string
	state     map[string]string // kit state as last sent

	queue   [][]byte // encoded events not yet acknowledged, oldest first
	dropped int64
	sent    int64
	wake    chan bool // new events to send
	flushCh chan bool // shutdown: retry now, skipping the backoff
	idle    chan bool // signalled whenever the queue becomes empty
}

var ts = newTurnstream()

func newTurnstream() *tsState {
	s := &tsState{
		url:       strings.TrimRight(envOr("TURNSTREAM_URL", "http://127.0.0.1:8787"), "/"),
		token:     os.Getenv("TURNSTREAM_TOKEN"),
		agent:     envOr("TURNSTREAM_AGENT", "kit"),
		user:      os.Getenv("TURNSTREAM_USER"),
		disabled:  os.Getenv("TURNSTREAM_DISABLED") == "1",
		maxBuf:    10000,
		wait:      3 * time.Second,
		debugLog:  os.Getenv("TURNSTREAM_DEBUG_LOG"),
		client:    &http.Client{Timeout: 5 * time.Second},
		run:       randomHex(6),
		tools:     map[string]time.Time{},
		toolNames: map[string]string{},
		state:     map[string]string{},
		wake:      make(chan bool, 1),
		flushCh:   make(chan bool, 1),
		idle:      make(chan bool, 1),
	}
	if n, err := strconv.Atoi(os.Getenv("TURNSTREAM_BUFFER")); err == nil && n > 0 {
		s.maxBuf = n
	}
	if d, err := time.ParseDuration(os.Getenv("TURNSTREAM_SHUTDOWN_WAIT")); err == nil && d >= 0 {
		s.wait = d
	}
	return s
}

// Init registers the handlers and starts the sender.
func Init(api ext.API) {
	go ts.sendLoop()
	onStepStart(api)

	api.OnSessionStart(func(e ext.SessionStartEvent, ctx ext.Context) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		id := e.SessionID
		if id == "" {
			id = ctx.SessionID
		}
		ts.startSession(id, ctx)
		ts.syncState(ctx)
	})

	api.OnAgentStart(func(e ext.AgentStartEvent, ctx ext.Context) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.ensureSession(ctx)
		ts.openTurn()
	})

	api.OnLLMUsage(func(e ext.LLMUsageEvent, ctx ext.Context) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.ensureSession(ctx)
		if ts.turn == "" {
			ts.openTurn() // usage outside a turn (a compaction, an extension's own call) still counts
		}
		ev := map[string]interface{}{
			"provider":        orUnknown(e.Provider),
			"model":           orUnknown(e.Model),
			"step":            nonNegative(e.StepNumber),
			"inputTokens":     nonNegative(e.InputTokens),
			"outputTokens":    nonNegative(e.OutputTokens),
			"cacheReadTokens": nonNegative(e.CacheReadTokens),
		}
		if e.CacheWriteTokens > 0 {
			ev["cacheWriteTokens"] = e.CacheWriteTokens
		}
		if e.Cost > 0 {
			ev["cost"] = e.Cost
			ev["costSource"] = "computed"
		}
		if e.FinishReason != "" {
			ev["finishReason"] = e.FinishReason
		}
		// kit reports a step's usage after the step's tools ran: the call itself ended when its
		// first tool call was made (or now, for a call that asked for none). The event carries
		// that end as its time, and durationMs back to the call's start.
		end := ts.stepEnd
		if end.IsZero() {
			end = time.Now()
		}
		if !ts.stepStart.IsZero() && !end.Before(ts.stepStart) {
			ev["durationMs"] = end.Sub(ts.stepStart).Milliseconds()
		}
		ts.emitAt("llm.usage", ts.turn, ev, end)
		ts.stepStart = time.Now() // fallback start of the next call, where StepStart does not come
		ts.stepEnd = time.Time{}
		ts.syncState(ctx)
	})

	api.OnToolCall(func(e ext.ToolCallEvent, ctx ext.Context) *ext.ToolCallResult {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.ensureSession(ctx)
		if ts.turn == "" {
			ts.openTurn()
		}
		id := e.ToolCallID
		if id == "" {
			id = fmt.Sprintf("%s-%d", ts.run, ts.seq+1)
		}
		ts.tools[id] = time.Now()
		ts.toolNames[id] = e.ToolName
		if ts.stepEnd.IsZero() {
			ts.stepEnd = ts.tools[id]
		}
		ts.emit("tool.start", ts.turn, map[string]interface{}{"toolCallId": id, "toolName": orUnknown(e.ToolName)})
		return nil
	})

	api.OnToolResult(func(e ext.ToolResultEvent, ctx ext.Context) *ext.ToolResultResult {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.ensureSession(ctx)
		ts.endTool(e.ToolCallID, e.ToolName, e.IsError, nil)
		ts.syncState(ctx)
		return nil
	})

	api.OnAgentEnd(func(e ext.AgentEndEvent, ctx ext.Context) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.ensureSession(ctx)
		if ts.turn == "" {
			ts.openTurn()
		}
		ts.syncState(ctx)
		ts.closeTurn(e.StopReason)
	})

	api.OnSessionShutdown(func(e ext.SessionShutdownEvent, ctx ext.Context) {
		ts.mu.Lock()
		if ts.started {
			ts.syncState(ctx)
			if ts.turn != "" {
				ts.closeTurn("shutdown")
			}
			ts.endSession("shutdown")
		}
		ts.mu.Unlock()
		ts.flush(ts.wait)
	})
}

// onStepStart times LLM calls from kit's StepStart. Hosts without it (kit's extension test
// harness) panic on registration: then calls are timed from the previous step's end.
func onStepStart(api ext.API) {
	defer func() {
		if recover() != nil {
			ts.logf("no StepStart in this host: LLM calls timed from the previous step")
		}
	}()
	api.OnStepStart(func(e ext.StepStartEvent, ctx ext.Context) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.stepStart = time.Now()
		ts.stepEnd = time.Time{}
	})
}

// ---- session, turn and tool bookkeeping (callers hold ts.mu) ----

func (s *tsState) ensureSession(ctx ext.Context) {
	if !s.started || (ctx.SessionID != "" && ctx.SessionID != s.session) {
		s.startSession(ctx.SessionID, ctx)
	}
}

func (s *tsState) startSession(id string, ctx ext.Context) {
	if s.started && id == s.session {
		return
	}
	if s.started { // kit switched sessions (a /new, a resume): close the old one first
		if s.turn != "" {
			s.closeTurn("session_switch")
		}
		s.endSession("session_switch")
	}
	if id == "" {
		id = s.sessionFromPath(ctx)
	}
	s.session = id
	s.started = true
	s.state = map[string]string{}
	fields := map[string]interface{}{"agent": s.agent}
	if s.user != "" {
		fields["user"] = s.user
	}
	attrs := map[string]interface{}{"agent.name": s.agent}
	if ctx.Model != "" {
		attrs["kit.model"] = ctx.Model
	}
	fields["attrs"] = attrs
	s.emit("session.start", "", fields)
}

func (s *tsState) endSession(reason string) {
	fields := map[string]interface{}{"reason": reason}
	if s.dropped > 0 {
		fields["attrs"] = map[string]interface{}{"kit.dropped_events": s.dropped}
	}
	s.emit("session.end", "", fields)
	s.started = false
}

func (s *tsState) openTurn() {
	if s.turn != "" {
		s.closeTurn("superseded") // kit runs one turn at a time; a missed AgentEnd must not merge two turns
	}
	s.turns++
	s.turn = fmt.Sprintf("turn-%s-%d", s.run, s.turns)
	s.emit("turn.start", s.turn, nil)
	s.stepStart = time.Now()
}

func (s *tsState) closeTurn(stopReason string) {
	ids := make([]string, 0, len(s.tools))
	for id := range s.tools {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids { // a tool whose result never came (blocked by another extension, cancelled)
		s.endTool(id, s.toolNames[id], true, "no result")
	}
	fields := map[string]interface{}{}
	if stopReason != "" {
		fields["stopReason"] = stopReason
	}
	s.emit("turn.end", s.turn, fields)
	s.turn = ""
}

func (s *tsState) endTool(id string, name string, isError bool, why interface{}) {
	if s.turn == "" {
		s.openTurn()
	}
	fields := map[string]interface{}{"toolCallId": id, "toolName": orUnknown(name)}
	if start, ok := s.tools[id]; ok {
		fields["durationMs"] = time.Since(start).Milliseconds()
		delete(s.tools, id)
		delete(s.toolNames, id)
	}
	if isError {
		if why == nil {
			why = true // the error text is tool output: it stays on the machine
		}
		fields["error"] = why
	}
	s.emit("tool.end", s.turn, fields)
}

// syncState sends what changed in kit's session state since the last look.
func (s *tsState) syncState(ctx ext.Context) {
	if ctx.ListState == nil || ctx.GetState == nil || !s.started {
		return
	}
	keys := ctx.ListState()
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
		v, ok := ctx.GetState(k)
		if !ok {
			continue
		}
		if old, had := s.state[k]; had && old == v {
			continue
		}
		s.state[k] = v
		s.emit("state.set", "", map[string]interface{}{"key": k, "value": v})
	}
	gone := []string{}
	for k := range s.state {
		if !seen[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	for _, k := range gone {
		delete(s.state, k)
		s.emit("state.delete", "", map[string]interface{}{"key": k})
	}
}

// emit encodes one event, stamped now, and queues it.
func (s *tsState) emit(kind string, turn string, fields map[string]interface{}) {
	s.emitAt(kind, turn, fields, time.Now())
}

// emitAt encodes one event with the given event time and queues it (dropping it, counted, when
// the buffer is full).
func (s *tsState) emitAt(kind string, turn string, fields map[string]interface{}, at time.Time) {
	if s.disabled {
		return
	}
	s.seq++
	ev := map[string]interface{}{
		"v":       1,
		"id":      fmt.Sprintf("%s:%s:%d", s.session, s.run, s.seq),
		"type":    kind,
		"session": s.session,
		"time":    at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"seq":     s.seq,
	}
	if turn != "" {
		ev["turn"] = turn
	}
	for k, v := range fields {
		ev[k] = v
	}
	line, err := json.Marshal(ev)
	if err != nil {
		s.logf("cannot encode %s: %v", kind, err)
		return
	}
	if len(s.queue) >= s.maxBuf {
		s.dropped++
		if s.dropped == 1 || s.dropped%1000 == 0 {
			s.logf("buffer full (%d events): %d dropped so far", s.maxBuf, s.dropped)
		}
		return
	}
	s.queue = append(s.queue, line)
	select {
	case s.wake <- true:
	default:
	}
}

// ---- the sender ----

const maxBatch = 500

// sendLoop runs for the life of the process: it sends the queue's head in batches, retrying
// failures with exponential backoff (250 ms doubling to 10 s, with jitter) for as long as kit runs.
func (s *tsState) sendLoop() {
	backoff := 250 * time.Millisecond
	for {
		s.mu.Lock()
		n := len(s.queue)
		if n > maxBatch {
			n = maxBatch
		}
		batch := append([][]byte{}, s.queue[:n]...)
		s.mu.Unlock()
		if n == 0 {
			select {
			case s.idle <- true:
			default:
			}
			select {
			case <-s.wake:
			case <-s.flushCh:
			case <-time.After(time.Second):
			}
			continue
		}
		retry, err := s.post(batch)
		s.mu.Lock()
		if err == nil || !retry {
			s.queue = s.queue[n:]
			if err == nil {
				s.sent += int64(n)
			} else {
				s.dropped += int64(n)
			}
		}
		s.mu.Unlock()
		if err == nil {
			backoff = 250 * time.Millisecond
			continue
		}
		s.logf("send of %d events failed (retry=%v, next try in %v): %v", n, retry, backoff, err)
		if !retry {
			continue
		}
		select { // new events do not cut the backoff short (no hammering a struggling server); shutdown does
		case <-time.After(backoff + jitter(backoff)):
		case <-s.flushCh:
		}
		backoff *= 2
		if backoff > 10*time.Second {
			backoff = 10 * time.Second
		}
	}
}

// post sends one NDJSON batch. retry says whether the same batch may succeed later: network
// errors, 408, 429 and 5xx may; other answers (a 207/422 rejects events per line, and they would be
// rejected again; a 401 needs a token) may not.
func (s *tsState) post(batch [][]byte) (bool, error) {
	body := bytes.Join(batch, []byte("\n"))
	req, err := http.NewRequest("POST", s.url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return true, err
	}
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	switch {
	case res.StatusCode == 200:
		return false, nil
	case res.StatusCode == 207 || res.StatusCode == 422:
		s.logf("turnstream rejected some events (%d): %s", res.StatusCode, answer)
		return false, nil
	case res.StatusCode == 408 || res.StatusCode == 429 || res.StatusCode >= 500:
		return true, fmt.Errorf("HTTP %d", res.StatusCode)
	default:
		return false, fmt.Errorf("HTTP %d: %s", res.StatusCode, answer)
	}
}

// flush waits until everything queued is acknowledged, or until the deadline passes.
func (s *tsState) flush(deadline time.Duration) {
	until := time.Now().Add(deadline)
	for {
		s.mu.Lock()
		left := len(s.queue)
		s.mu.Unlock()
		if left == 0 {
			return
		}
		remaining := time.Until(until)
		if remaining <= 0 {
			s.logf("shutdown: %d events not delivered within %v", left, deadline)
			return
		}
		select {
		case s.flushCh <- true:
		default:
		}
		step := 50 * time.Millisecond
		if remaining < step {
			step = remaining
		}
		select {
		case <-s.idle:
		case <-time.After(step):
		}
	}
}

// ---- small helpers ----

func (s *tsState) logf(format string, args ...interface{}) {
	if s.debugLog == "" {
		return
	}
	f, err := os.OpenFile(s.debugLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%s turnstream: %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
	f.Close()
}

// sessionFromPath names a session after kit's session file (…/<time>_<id>.jsonl), so a resumed
// session (kit --continue, --session FILE) goes on as the same turnstream session. kit leaves
// SessionID empty in its CLI; an ephemeral session (--no-session) has no file and gets kit-<run>.
func (s *tsState) sessionFromPath(ctx ext.Context) string {
	path := ""
	if ctx.GetSessionPath != nil {
		path = ctx.GetSessionPath()
	}
	if path == "" {
		return "kit-" + s.run
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if i := strings.LastIndex(base, "_"); i >= 0 && i+1 < len(base) {
		base = base[i+1:]
	}
	return "kit-" + base
}

func envOr(name string, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func orUnknown(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}

func nonNegative(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(b)
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(time.Now().UnixNano() % int64(d/2+1))
}
