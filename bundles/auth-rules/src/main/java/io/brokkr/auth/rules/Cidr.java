package io.brokkr.auth.rules;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ConcurrentMap;

/**
 * An address block, IPv4 ({@code 10.0.0.0/8}) or IPv6 ({@code 2001:db8::/32}), as two 64-bit halves and a mask, so
 * that a check is two ANDs and two compares. A client address is turned into the same form once per connection and
 * kept in the connection's attributes ({@link #of(ConnectionContext)}).
 *
 * <p>An IPv4 block only contains IPv4 addresses and an IPv6 block only IPv6 addresses; an IPv4-mapped IPv6 address
 * ({@code ::ffff:10.1.2.3}, as a dual-stack socket may report an IPv4 client) counts as the IPv4 address.
 */
final class Cidr {

    /** A client address in the form blocks compare with. */
    record Address(boolean v4, long hi, long lo) {
    }

    /** The attribute under which a connection's parsed address is kept. */
    static final String ATTRIBUTE = "io.brokkr.auth.rules.address";
    private static final Address NONE = new Address(false, 0, 0);

    private final String text;
    private final boolean v4;
    private final long hi;
    private final long lo;
    private final long maskHi;
    private final long maskLo;

    private Cidr(String text, boolean v4, long hi, long lo, int bits) {
        this.text = text;
        this.v4 = v4;
        int total = v4 ? 32 : 128;
        // for IPv4 the address is in the low 32 bits of lo
        long mHi;
        long mLo;
        if (v4) {
            mHi = 0;
            mLo = bits == 0 ? 0 : (0xFFFFFFFFL << (32 - bits)) & 0xFFFFFFFFL;
        } else {
            mHi = bits >= 64 ? -1L : bits == 0 ? 0 : -1L << (64 - bits);
            mLo = bits <= 64 ? 0 : bits == 128 ? -1L : -1L << (128 - bits);
        }
        this.maskHi = mHi;
        this.maskLo = mLo;
        this.hi = hi & mHi;
        this.lo = lo & mLo;
        assert bits <= total;
    }

    /**
     * Parses {@code a.b.c.d/n}, {@code ipv6/n}, or an address alone (a block of one address). Address literals only:
     * a host name is refused, never looked up.
     *
     * @throws IllegalArgumentException with the reason
     */
    static Cidr parse(String text) {
        String s = text.trim();
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        Address a;
        if (addr.indexOf(':') >= 0) {
            a = parse6(addr);
        } else {
            a = parse4(addr);
        }
        // an IPv4-mapped IPv6 literal (::ffff:10.0.0.0/104) is the IPv4 block (10.0.0.0/8)
        boolean mapped = a.v4() && addr.indexOf(':') >= 0;
        int max = a.v4() && !mapped ? 32 : 128;
        int bits = max;
        if (slash >= 0) {
            String p = s.substring(slash + 1);
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("'" + text + "': the prefix length after '/' must be a number");
            }
            bits = Integer.parseInt(p);
            if (bits > max) {
                throw new IllegalArgumentException("'" + text + "': the prefix length of an "
                        + (a.v4() ? "IPv4" : "IPv6") + " block is at most " + max);
            }
            if (mapped && bits < 96) {
                throw new IllegalArgumentException("'" + text + "': an IPv4-mapped block needs a prefix length of "
                        + "at least 96");
            }
        }
        return new Cidr(text, a.v4(), a.hi(), a.lo(), mapped ? bits - 96 : bits);
    }

    private static Address parse4(String addr) {
        String[] octets = addr.split("\\.", -1);
        if (octets.length != 4) {
            throw new IllegalArgumentException("'" + addr + "' is not an IPv4 or IPv6 address");
        }
        long v = 0;
        for (String o : octets) {
            if (o.isEmpty() || o.length() > 3 || !o.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("'" + addr + "' is not an IPv4 or IPv6 address");
            }
            int n = Integer.parseInt(o);
            if (n > 255) {
                throw new IllegalArgumentException("'" + addr + "': " + n + " is not an IPv4 octet (0-255)");
            }
            v = v << 8 | n;
        }
        return new Address(true, 0, v);
    }

    private static Address parse6(String addr) {
        for (int i = 0; i < addr.length(); i++) {
            char c = addr.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.')) {
                throw new IllegalArgumentException("'" + addr + "' is not an IPv6 address");
            }
        }
        try {
            // a literal with ':' is only checked for validity, never resolved
            return address(InetAddress.getByName(addr));
        } catch (UnknownHostException | RuntimeException e) {
            throw new IllegalArgumentException("'" + addr + "' is not an IPv6 address");
        }
    }

    /** An address in compared form; an IPv4-mapped IPv6 address becomes the IPv4 address. */
    static Address address(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            return new Address(true, 0, (b[0] & 0xFFL) << 24 | (b[1] & 0xFFL) << 16 | (b[2] & 0xFFL) << 8
                    | b[3] & 0xFFL);
        }
        if (a instanceof Inet6Address && isMapped(b)) {
            return new Address(true, 0, (b[12] & 0xFFL) << 24 | (b[13] & 0xFFL) << 16 | (b[14] & 0xFFL) << 8
                    | b[15] & 0xFFL);
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = hi << 8 | b[i] & 0xFFL;
            lo = lo << 8 | b[i + 8] & 0xFFL;
        }
        return new Address(false, hi, lo);
    }

    private static boolean isMapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
    }

    /** The client address of a connection in compared form, computed once per connection; null if unknown. */
    static Address of(io.brokkr.api.ConnectionContext context) {
        ConcurrentMap<String, Object> attributes = context.attributes();
        Object cached = attributes == null ? null : attributes.get(ATTRIBUTE);
        if (cached == null) {
            InetSocketAddress remote = context.remoteAddress();
            InetAddress ip = remote == null ? null : remote.getAddress();
            cached = ip == null ? NONE : address(ip);
            if (attributes != null) {
                attributes.putIfAbsent(ATTRIBUTE, cached);
            }
        }
        return cached == NONE ? null : (Address) cached;
    }

    boolean contains(Address a) {
        return a != null && a.v4() == v4 && (a.hi() & maskHi) == hi && (a.lo() & maskLo) == lo;
    }

    @Override
    public String toString() {
        return text;
    }
}
