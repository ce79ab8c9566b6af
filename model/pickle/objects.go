package pickle

import (
	"errors"
	"fmt"
	"strings"
)

// appendItems executes APPEND and APPENDS.
func (d *decoder) appendItems(op byte) error {
	var items []Value
	if op == opAPPEND {
		v, err := d.pop()
		if err != nil {
			return err
		}
		items = []Value{v}
	} else {
		var err error
		if items, err = d.popMark(); err != nil {
			return err
		}
	}
	target, err := d.top()
	if err != nil {
		return err
	}
	l, ok := target.(*List)
	if !ok {
		return fmt.Errorf("cannot append to %s", TypeName(target))
	}
	l.Items = append(l.Items, items...)
	return nil
}

// setItems executes SETITEM and SETITEMS.
func (d *decoder) setItems(op byte) error {
	var items []Value
	if op == opSETITEM {
		if len(d.stack)-d.base() < 2 {
			return errors.New("stack underflow")
		}
		items = []Value{d.stack[len(d.stack)-2], d.stack[len(d.stack)-1]}
		d.stack = d.stack[:len(d.stack)-2]
	} else {
		var err error
		if items, err = d.popMark(); err != nil {
			return err
		}
	}
	target, err := d.top()
	if err != nil {
		return err
	}
	dict, ok := target.(*Dict)
	if !ok {
		return fmt.Errorf("cannot set items on %s", TypeName(target))
	}
	return setItems(dict, items)
}

// setItems stores alternating keys and values into dict.
func setItems(dict *Dict, items []Value) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of items (%d) for key/value pairs", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		if err := dict.Set(items[i], items[i+1]); err != nil {
			return fmt.Errorf("dict key: %w", err)
		}
	}
	return nil
}

// addItems executes ADDITEMS.
func (d *decoder) addItems() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	target, err := d.top()
	if err != nil {
		return err
	}
	s, ok := target.(*Set)
	if !ok || s.Frozen {
		return fmt.Errorf("cannot add items to %s", TypeName(target))
	}
	for _, it := range items {
		if err := s.Add(it); err != nil {
			return fmt.Errorf("set item: %w", err)
		}
	}
	return nil
}

// py2Modules maps Python 2 module names to their Python 3 names, as
// Unpickler(fix_imports=True) does for protocols below 3.
var py2Modules = map[string]string{
	"__builtin__": "builtins",
	"copy_reg":    "copyreg",
	"exceptions":  "builtins",
}

// loadGlobal executes GLOBAL and INST.
func (d *decoder) loadGlobal(op byte) error {
	module, err := d.readLine()
	if err != nil {
		return err
	}
	name, err := d.readLine()
	if err != nil {
		return err
	}
	g := Global{Module: string(module), Name: string(name)}
	if d.proto < 3 {
		if m, ok := py2Modules[g.Module]; ok {
			g.Module = m
		}
	}
	if op == opGLOBAL {
		d.push(g)
		return nil
	}
	args, err := d.popMark()
	if err != nil {
		return err
	}
	return d.call(g, Tuple(args))
}

// loadCall executes REDUCE, NEWOBJ, NEWOBJ_EX and OBJ.
func (d *decoder) loadCall(op byte) error {
	if op == opOBJ {
		items, err := d.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return errors.New("missing class after MARK")
		}
		return d.call(items[0], Tuple(items[1:]))
	}
	if op == opNEWOBJ_EX {
		kw, err := d.pop()
		if err != nil {
			return err
		}
		if kd, ok := kw.(*Dict); !ok || kd.Len() > 0 {
			return fmt.Errorf("keyword arguments (%s) are not supported", TypeName(kw))
		}
	}
	a, err := d.pop()
	if err != nil {
		return err
	}
	callable, err := d.pop()
	if err != nil {
		return err
	}
	args, ok := a.(Tuple)
	if !ok {
		return fmt.Errorf("arguments are %s, want tuple", TypeName(a))
	}
	return d.call(callable, args)
}

// call evaluates callable(*args) without executing code: the Reduce hook
// first, then a few safe builtins, else an *Object recording the call.
func (d *decoder) call(callable Value, args Tuple) error {
	if d.opts.Reduce != nil {
		v, ok, err := d.opts.Reduce(callable, args)
		if err != nil {
			return err
		}
		if ok {
			d.push(v)
			return nil
		}
	}
	g, ok := callable.(Global)
	if !ok {
		return fmt.Errorf("cannot call %s", TypeName(callable))
	}
	v, ok, err := callBuiltin(g, args)
	if err != nil {
		return fmt.Errorf("%s: %w", g, err)
	}
	if !ok {
		v = &Object{Class: g, Args: args}
	}
	d.push(v)
	return nil
}

// callBuiltin evaluates the side-effect-free constructors that pickle uses
// for built-in types under older protocols.
func callBuiltin(g Global, args Tuple) (Value, bool, error) {
	switch g {
	case Global{"collections", "OrderedDict"}, Global{"builtins", "dict"}:
		dict := NewDict()
		if len(args) == 0 {
			return dict, true, nil
		}
		if len(args) > 1 {
			return nil, false, fmt.Errorf("want at most 1 argument, got %d", len(args))
		}
		pairs, err := iterate(args[0])
		if err != nil {
			return nil, false, err
		}
		for _, p := range pairs {
			kv, ok := p.(Tuple)
			if !ok || len(kv) != 2 {
				return nil, false, fmt.Errorf("item is %s, want a (key, value) pair", TypeName(p))
			}
			if err := dict.Set(kv[0], kv[1]); err != nil {
				return nil, false, err
			}
		}
		return dict, true, nil
	case Global{"builtins", "set"}, Global{"builtins", "frozenset"}:
		s := &Set{Frozen: g.Name == "frozenset"}
		if len(args) == 0 {
			return s, true, nil
		}
		items, err := iterate(args[0])
		if err != nil {
			return nil, false, err
		}
		for _, it := range items {
			if err := s.Add(it); err != nil {
				return nil, false, err
			}
		}
		return s, true, nil
	case Global{"builtins", "bytes"}, Global{"builtins", "bytearray"}, Global{"_codecs", "encode"}:
		if len(args) == 0 {
			return []byte{}, true, nil
		}
		switch a := args[0].(type) {
		case []byte:
			return append([]byte{}, a...), true, nil
		case string:
			if len(args) != 2 {
				return nil, false, errors.New("str argument without an encoding")
			}
			enc, _ := args[1].(string)
			return encodeString(a, enc)
		}
	}
	return nil, false, nil
}

// iterate returns the items of a list, tuple or set, or the keys of a dict.
func iterate(v Value) ([]Value, error) {
	switch x := v.(type) {
	case *List:
		return x.Items, nil
	case Tuple:
		return x, nil
	case *Set:
		return x.Items, nil
	case *Dict:
		return x.Keys, nil
	}
	return nil, fmt.Errorf("%s is not iterable", TypeName(v))
}

// encodeString implements str.encode for the encodings pickle protocol 2
// uses for bytes objects.
func encodeString(s, enc string) (Value, bool, error) {
	switch strings.ReplaceAll(strings.ToLower(enc), "_", "-") {
	case "latin1", "latin-1", "iso-8859-1", "l1":
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, false, fmt.Errorf("character U+%04X cannot be encoded as latin-1", r)
			}
			b = append(b, byte(r))
		}
		return b, true, nil
	case "utf8", "utf-8":
		return []byte(s), true, nil
	}
	return nil, false, fmt.Errorf("unsupported encoding %q", enc)
}

// build executes BUILD. On an *Object it records the state. On a *Dict
// (an OrderedDict) the state sets attributes such as torch's _metadata,
// which carry no items and are ignored.
func (d *decoder) build() error {
	state, err := d.pop()
	if err != nil {
		return err
	}
	inst, err := d.top()
	if err != nil {
		return err
	}
	switch x := inst.(type) {
	case *Object:
		x.State = state
	case *Dict:
	default:
		return fmt.Errorf("cannot set state of %s", TypeName(inst))
	}
	return nil
}

// loadPersistent executes PERSID and BINPERSID.
func (d *decoder) loadPersistent(op byte) error {
	var id Value
	if op == opPERSID {
		line, err := d.readLine()
		if err != nil {
			return err
		}
		id = string(line)
	} else {
		var err error
		if id, err = d.pop(); err != nil {
			return err
		}
	}
	if d.opts.PersistentLoad == nil {
		d.push(PersistentID{ID: id})
		return nil
	}
	v, err := d.opts.PersistentLoad(id)
	if err != nil {
		return fmt.Errorf("persistent load: %w", err)
	}
	d.push(v)
	return nil
}
