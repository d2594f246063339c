package factory

import (
	"fmt"

	"github.com/kume-ann/kume"
)

// SetParams applies a FAISS ParameterSpace string such as
// "nprobe=16,k_factor_rf=4" to an index as its new search defaults, the way
// faiss.ParameterSpace().set_index_parameters does. Each name reaches the
// part of a composite index that owns it (a refining index keeps
// k_factor_rf and passes nprobe to its IVF base). A name no part owns, or a
// bad value, fails with kume.ErrInvalidArgument; names before it have been
// applied by then.
func SetParams(idx kume.Index, params string) error {
	return kume.EachParam(params, func(name string, v float64) error {
		s, ok := idx.(kume.ParamSetter)
		if !ok {
			return fmt.Errorf("factory: %w: this index has no search parameters (asked for %s)", kume.ErrInvalidArgument, name)
		}
		return s.SetParam(name, v)
	})
}
