//go:build !linux

package contract

import "errors"

// limitAddressSpace is not available on this system.
func limitAddressSpace(extra uint64) error {
	return errors.New("address-space limits are set only on Linux")
}
