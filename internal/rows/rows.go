// Package rows is the row store that the flat and HNSW indexes share: rows
// of d floats, each with an id, and the id-to-row lookup and reconstruction
// over them.
package rows

import (
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/check"
)

// View is a store's rows as its index holds them: Data holds N rows of D
// floats; IDs is nil while every id equals its row, else it holds each
// row's id and Pos maps each id back to its row. The index holds its lock
// while a View is used.
type View struct {
	D, N int
	Data []float32
	IDs  []int64
	Pos  map[int64]int
}

// Of returns the view of data (rows of d floats) with ids and pos.
func Of(d int, data []float32, ids []int64, pos map[int64]int) View {
	return View{D: d, N: len(data) / d, Data: data, IDs: ids, Pos: pos}
}

// Len is the number of rows.
func (v View) Len() int { return v.N }

// Row returns the row of id, and false when no row has it.
func (v View) Row(id int64) (int, bool) {
	if v.IDs == nil {
		if id < 0 || id >= int64(v.N) {
			return 0, false
		}
		return int(id), true
	}
	r, ok := v.Pos[id]
	return r, ok
}

// Reconstruct appends the row with the given id to dst; it fails with
// kume.ErrNotFound for an id no row has. Errors begin with pkg, the
// index's package.
func (v View) Reconstruct(pkg string, id int64, dst []float32) ([]float32, error) {
	row, ok := v.Row(id)
	if !ok {
		return dst, fmt.Errorf("%s: %w: %d", pkg, kume.ErrNotFound, id)
	}
	return append(dst, v.Data[row*v.D:(row+1)*v.D]...), nil
}

// ReconstructN appends the rows with ids i0 .. i0+n-1 to dst, in id order.
// On failure dst is returned as it came.
func (v View) ReconstructN(pkg string, i0, n int64, dst []float32) ([]float32, error) {
	if err := check.IDRange(i0, n, v.Len()); err != nil {
		return dst, fmt.Errorf("%s: %w", pkg, err)
	}
	if v.IDs == nil {
		rows := int64(v.Len())
		if i0+n > rows {
			return dst, fmt.Errorf("%s: %w: ids %d..%d, index holds %d", pkg, kume.ErrNotFound, i0, i0+n-1, rows)
		}
		return append(dst, v.Data[i0*int64(v.D):(i0+n)*int64(v.D)]...), nil
	}
	base := len(dst)
	for id := i0; id < i0+n; id++ {
		row, ok := v.Row(id)
		if !ok {
			return dst[:base], fmt.Errorf("%s: %w: %d", pkg, kume.ErrNotFound, id)
		}
		dst = append(dst, v.Data[row*v.D:(row+1)*v.D]...)
	}
	return dst, nil
}
