package npy_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kume-ann/kume/npy"
)

// Write two feature files of an RVC-style folder and read the folder back
// as one matrix, in file-name order.
func ExampleReadDir() {
	dir, err := os.MkdirTemp("", "3_feature256")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	// Two utterances of 4-d frames (RVC's are 256-d or 768-d).
	if err := npy.WriteFile(filepath.Join(dir, "1_1.npy"), []float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4); err != nil {
		panic(err)
	}
	if err := npy.WriteFile(filepath.Join(dir, "0_1.npy"), []float32{0, 0, 0, 1}, 1, 4); err != nil {
		panic(err)
	}
	m, files, err := npy.ReadDir(dir, &npy.DirOptions{FileProgress: func(p npy.FileProgress) {
		if p.Done {
			fmt.Printf("read %s (%d/%d): %d rows\n", p.Name, p.Index+1, p.Count, p.Rows)
		}
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Rows, "x", m.Cols, "first row", m.Row(0), "from", files[0].Name)
	// Output:
	// read 0_1.npy (1/2): 1 rows
	// read 1_1.npy (2/2): 2 rows
	// 3 x 4 first row [0 0 0 1] from 0_1.npy
}

// Integer arrays are read as floats only when asked to.
func ExampleReadFile() {
	dir, err := os.MkdirTemp("", "npy")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "ids.npy")
	if err := npy.WriteInt64File(p, []int64{3, 1, 4, 1}, 2, 2); err != nil {
		panic(err)
	}
	if _, err := npy.ReadFile(p, nil); err != nil {
		fmt.Println("as floats:", err != nil)
	}
	m, err := npy.ReadFile(p, &npy.Options{ConvertIntegers: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Rows, m.Cols, m.Data)
	// Output:
	// as floats: true
	// 2 2 [3 1 4 1]
}
