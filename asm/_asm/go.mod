module github.com/kume-ann/kume/asm/_asm

go 1.24

require github.com/mmcloughlin/avo v0.5.0 // indirect
