package contract

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// limitAddressSpace limits the process's address space to what it maps now
// plus extra bytes, so that an allocation beyond that fails in this process
// instead of taking the machine's memory.
func limitAddressSpace(extra uint64) error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	var vm uint64
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "VmSize:" {
			kb, err := strconv.ParseUint(string(f[1]), 10, 64)
			if err != nil {
				return err
			}
			vm = kb << 10
		}
	}
	if vm == 0 {
		return fmt.Errorf("no VmSize in /proc/self/status")
	}
	lim := vm + extra
	return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim})
}
