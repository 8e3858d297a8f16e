package widgets

import (
	"encoding/json"
	"sync"

	"gorun.dev/display"
)

// The notebook's events, from the display channel's reader goroutine to the
// one goroutine that runs callbacks. The queue is not bounded here: the
// kernel bounds what it sends (coalescing a slider's drag), and a bounded
// queue could block the reader, which also delivers the acks a callback's
// display call waits for.
var events = struct {
	sync.Mutex
	cond    *sync.Cond
	queue   []event
	started bool
	closed  chan struct{}
	models  map[string]*Model
}{closed: make(chan struct{}), models: map[string]*Model{}}

type event struct {
	ID      string         `json:"id"`
	Method  string         `json:"method"`
	State   map[string]any `json:"state"`
	Content map[string]any `json:"content"`
}

func register(m *Model) {
	events.Lock()
	events.models[m.id] = m
	events.Unlock()
}

func lookup(id string) *Model {
	events.Lock()
	defer events.Unlock()
	return events.models[id]
}

// listen starts the reader (in the display package) and the callbacks' goroutine, once.
func listen() {
	events.Lock()
	if events.started {
		events.Unlock()
		return
	}
	events.started = true
	events.cond = sync.NewCond(&events.Mutex)
	events.Unlock()
	var once sync.Once
	closed := func() { once.Do(func() { close(events.closed) }) }
	if !display.ListenWidgetEvents(receive, closed) {
		closed()
		return
	}
	go dispatch()
}

func receive(body []byte) {
	var e event
	if json.Unmarshal(body, &e) != nil {
		return
	}
	events.Lock()
	events.queue = append(events.queue, e)
	events.cond.Signal()
	events.Unlock()
}

func dispatch() {
	for {
		events.Lock()
		for len(events.queue) == 0 {
			events.cond.Wait()
		}
		e := events.queue[0]
		events.queue = events.queue[1:]
		m := events.models[e.ID]
		events.Unlock()
		if m != nil {
			m.deliver(e)
		}
	}
}

func (m *Model) deliver(e event) {
	m.mu.Lock()
	var calls []func()
	switch e.Method {
	case "update":
		for k, v := range e.State {
			m.state[k] = v
		}
		for _, f := range m.onUpdate {
			f := f
			calls = append(calls, func() { f(e.State) })
		}
	case "custom":
		for _, f := range m.onCustom {
			f := f
			calls = append(calls, func() { f(e.Content) })
		}
	}
	m.mu.Unlock()
	for _, f := range calls {
		f()
	}
}
