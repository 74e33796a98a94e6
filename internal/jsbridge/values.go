//go:build js && wasm

package jsbridge

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"syscall/js"
	"time"
)

var (
	jsObject = js.Global().Get("Object")
	jsArray  = js.Global().Get("Array")
)

// Object returns a new empty JS object.
func Object() js.Value { return jsObject.New() }

// ToJS converts a decoded JSON value (nil, bool, float64, json.Number,
// string, []any, map[string]any) or a Go string, integer or time.Time (as
// milliseconds since the epoch) to a JS value. Object keys are set in
// sorted order, so that what a page shows is stable.
func ToJS(v any) js.Value {
	switch v := v.(type) {
	case nil:
		return js.Null()
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return js.ValueOf(v.String())
		}
		return js.ValueOf(f)
	case time.Time:
		return js.ValueOf(float64(v.UnixMilli()))
	case []any:
		a := jsArray.New(len(v))
		for i, e := range v {
			a.SetIndex(i, ToJS(e))
		}
		return a
	case map[string]any:
		o := jsObject.New()
		for _, k := range slices.Sorted(maps.Keys(v)) {
			o.Set(k, ToJS(v[k]))
		}
		return o
	case []string:
		a := jsArray.New(len(v))
		for i, e := range v {
			a.SetIndex(i, e)
		}
		return a
	case map[string]string:
		o := jsObject.New()
		for _, k := range slices.Sorted(maps.Keys(v)) {
			o.Set(k, v[k])
		}
		return o
	}
	return js.ValueOf(v) // bool, numbers, string, js.Value
}

// Strings reads the string members of a JS options object into a map,
// keyed by member name. Undefined and null members are left out; any other
// non-string member is an error naming it. Members not listed in allowed
// are errors too, so that a misspelt option (client_id for clientId) is
// reported instead of ignored.
func Strings(opts js.Value, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	if opts.IsUndefined() || opts.IsNull() {
		return out, nil
	}
	if opts.Type() != js.TypeObject {
		return nil, &OptionError{Reason: "options must be an object"}
	}
	keys := jsObject.Call("keys", opts)
	for i, n := 0, keys.Length(); i < n; i++ {
		k := keys.Index(i).String()
		if !slices.Contains(allowed, k) {
			return nil, &OptionError{Name: k, Reason: "unknown option"}
		}
		v := opts.Get(k)
		switch v.Type() {
		case js.TypeUndefined, js.TypeNull:
		case js.TypeString:
			out[k] = v.String()
		default:
			return nil, &OptionError{Name: k, Reason: "must be a string, not " + v.Type().String()}
		}
	}
	return out, nil
}

// OptionError reports an options object the bridge cannot read.
type OptionError struct {
	Name   string
	Reason string
}

func (e *OptionError) Error() string {
	if e.Name == "" {
		return "tokenhelper: " + e.Reason
	}
	return "tokenhelper: option " + strconv.Quote(e.Name) + ": " + e.Reason
}
