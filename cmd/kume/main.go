// Command kume builds, searches, inspects and benchmarks kume indexes from
// the command line, on .npy files (such as an RVC feature folder) or on
// built-in data:
//
//	kume bench                                   # recall/QPS curves on generated RVC-like data
//	kume bench -data fashion-mnist -json         # one JSON object per setting
//	kume build -factory IVF256,Flat -o voice.index 3_feature256/
//	kume search -index voice.index -k 8 -params nprobe=1 -ids ids.npy -dist dist.npy frames.npy
//	kume info voice.index
//
// Run "kume help" for every command and flag.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
