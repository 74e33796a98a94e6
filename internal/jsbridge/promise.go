//go:build js && wasm

package jsbridge

import (
	"errors"
	"syscall/js"
)

// Via, when set, is the function Await hands a promise and its two
// callbacks to instead of calling the promise's then: the Worker's entry
// module sets it (binding.await, worker/cmd/worker) so that it knows on
// behalf of which request Go continues, and can answer that request at
// once rather than from its pick-up timer.
var Via js.Value

// Await waits for a JS promise. A rejection becomes an error carrying the
// rejection's name and message. Both callbacks are released.
func Await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- result{v: arg(a, 0)}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- result{err: errorFromJS(arg(a, 0))}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	if Via.Type() == js.TypeFunction {
		Via.Invoke(p, then, catch)
	} else {
		p.Call("then", then, catch)
	}
	r := <-ch
	return r.v, r.err
}

func arg(a []js.Value, i int) js.Value {
	if i < len(a) {
		return a[i]
	}
	return js.Undefined()
}

// errorFromJS describes a thrown or rejected JS value.
func errorFromJS(v js.Value) error {
	if v.Type() == js.TypeObject && v.Get("message").Type() == js.TypeString {
		name := v.Get("name")
		if name.Type() == js.TypeString && name.String() != "Error" {
			return errors.New(name.String() + ": " + v.Get("message").String())
		}
		return errors.New(v.Get("message").String())
	}
	if v.Type() == js.TypeString {
		return errors.New(v.String())
	}
	return errors.New("JavaScript error")
}

var jsPromise = js.Global().Get("Promise")

// Promise runs fn in a new goroutine and returns a JS Promise of its
// result: fulfilled with the value fn returns (converted by [ToJS] unless
// it is a js.Value), or rejected with [ErrorValue] of its error. The
// executor callback is released as soon as the Promise exists.
func Promise(fn func() (any, error)) js.Value {
	exec := js.FuncOf(func(_ js.Value, a []js.Value) any {
		resolve, reject := a[0], a[1]
		go func() {
			v, err := fn()
			if err != nil {
				reject.Invoke(ErrorValue(err))
				return
			}
			if jv, ok := v.(js.Value); ok {
				resolve.Invoke(jv)
				return
			}
			resolve.Invoke(ToJS(v))
		}()
		return nil
	})
	defer exec.Release()
	return jsPromise.New(exec)
}
