module github.com/kume-ann/kume

go 1.24
