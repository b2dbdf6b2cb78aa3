package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// TestPerIPTableIsBounded floods a limiter with fresh addresses under
// a clock that hardly moves: the table never grows past its cap, an
// address that keeps coming stays limited, and idle buckets expire.
func TestPerIPTableIsBounded(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := New(2)
	l.now = func() time.Time { return clock }
	l.max = 50
	steady := netip.MustParseAddr("192.0.2.1")
	for i := 0; i < 2; i++ {
		if ok, _ := l.Allow(steady); !ok {
			t.Fatalf("request %d of the steady client refused within its burst", i+1)
		}
	}
	for i := 0; i < 2000; i++ {
		// Many requests share one instant (a coarse clock): the cap must
		// hold all the same.
		if i%10 == 0 {
			clock = clock.Add(time.Millisecond)
		}
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(ip)
		if n := len(l.buckets); n > l.max {
			t.Fatalf("after %d new addresses the table holds %d buckets, more than its cap %d", i+1, n, l.max)
		}
		if i%7 == 0 {
			if ok, _ := l.Allow(steady); ok {
				t.Fatalf("after %d new addresses the steady client got through again: its bucket was dropped", i+1)
			}
		}
	}
	clock = clock.Add(2 * time.Minute)
	l.Allow(netip.MustParseAddr("192.0.2.2"))
	if n := len(l.buckets); n != 1 {
		t.Errorf("after two idle minutes the table holds %d buckets, want only the new one", n)
	}
}

// TestPerIPIPv6Network counts every address of one IPv6 /64 against
// one bucket, so a host cannot escape its limit by changing addresses.
func TestPerIPIPv6Network(t *testing.T) {
	l := New(3)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l.now = func() time.Time { return clock }
	for i, a := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"} {
		if ok, _ := l.Allow(netip.MustParseAddr(a)); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:2:abcd::9")); ok {
		t.Error("a fourth address of the same /64 got through: each address had its own bucket")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:3::1")); !ok {
		t.Error("an address of another /64 was refused")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("192.0.2.7")); !ok {
		t.Error("an IPv4 address was refused")
	}
}
