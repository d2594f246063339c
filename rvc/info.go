package rvc

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/npy"
)

// FeatureInfo describes one feature folder of an experiment.
type FeatureInfo struct {
	// Layout is LayoutRVC or LayoutApplio; Folder the feature folder's
	// name. Version is the model version of the folder (RVC's layout) or
	// of the features' width (Applio's; empty when the width is neither
	// 256 nor 768).
	Layout, Version, Folder string
	// Files is the number of .npy files; Rows their rows; Dim their width
	// (0 when they disagree or none is readable).
	Files, Rows, Dim int
	// Problems lists the files that TrainIndex would refuse, and why.
	Problems []string
}

// ExpInfo describes an RVC experiment folder.
type ExpInfo struct {
	Dir string
	// Features has one entry per feature folder present.
	Features []FeatureInfo
	// Indexes are the .index files in the folder, in name order.
	Indexes []string
}

// Inspect describes an experiment folder, in RVC's layout (3_feature256,
// 3_feature768) or Applio's (extracted), from the headers of its feature
// files, without reading their data.
func Inspect(expDir string) (*ExpInfo, error) {
	st, err := os.Stat(expDir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: %w: not a folder", expDir, kume.ErrInvalidArgument)
	}
	info := &ExpInfo{Dir: expDir}
	for _, v := range versions {
		dir := filepath.Join(expDir, v.folder)
		if !isDir(dir) {
			continue
		}
		fi, err := inspectFolder(dir, FeatureInfo{Layout: LayoutRVC, Version: v.name, Folder: v.folder}, v.dim)
		if err != nil {
			return nil, err
		}
		info.Features = append(info.Features, *fi)
	}
	if dir := filepath.Join(expDir, ApplioFolder); isDir(dir) {
		fi, err := inspectFolder(dir, FeatureInfo{Layout: LayoutApplio, Folder: ApplioFolder}, 0)
		if err != nil {
			return nil, err
		}
		if fi.Dim > 0 {
			if v, ok := versionOfDim(fi.Dim); ok {
				fi.Version = v
			} else {
				fi.Problems = append(fi.Problems, fmt.Sprintf("%d-dimensional features; RVC's models use 256 (v1) or 768 (v2)", fi.Dim))
			}
		}
		info.Features = append(info.Features, *fi)
	}
	entries, err := os.ReadDir(expDir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".index") {
			info.Indexes = append(info.Indexes, e.Name())
		}
	}
	sort.Strings(info.Indexes)
	return info, nil
}

// inspectFolder fills fi from the headers of the .npy files of dir; want,
// when positive, is the width the version needs.
func inspectFolder(dir string, fi FeatureInfo, want int) (*FeatureInfo, error) {
	names, err := npy.ListDir(dir)
	if err != nil {
		return nil, err
	}
	fi.Files = len(names)
	if len(names) == 0 {
		fi.Problems = append(fi.Problems, "no .npy files")
	}
	dim := -1
	for _, name := range names {
		h, err := npy.ReadFileHeader(filepath.Join(dir, name))
		if err != nil {
			fi.Problems = append(fi.Problems, err.Error())
			continue
		}
		if !h.DType.IsFloat() {
			fi.Problems = append(fi.Problems, fmt.Sprintf("%s: dtype %s is not a float type", name, h.DType))
		}
		if dim < 0 {
			dim = h.Cols()
		} else if h.Cols() != dim {
			fi.Problems = append(fi.Problems, fmt.Sprintf("%s: %d columns, earlier files %d", name, h.Cols(), dim))
			dim = 0
		}
		fi.Rows += h.Rows()
	}
	if dim > 0 {
		fi.Dim = dim
		if want > 0 && dim != want {
			fi.Problems = append(fi.Problems, fmt.Sprintf("%d-dimensional features; an RVC %s model has %d", dim, fi.Version, want))
		}
	}
	return &fi, nil
}
