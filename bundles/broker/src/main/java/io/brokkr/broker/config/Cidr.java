package io.brokkr.broker.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An IPv4 or IPv6 network ({@code 10.0.0.0/8}, {@code 2001:db8::/32}) or a single address, for the address lists of
 * {@link BrokerConfig} and the bans. An IPv4 network also contains the IPv4-mapped IPv6 addresses of its members.
 */
public record Cidr(byte[] network, int prefix, String text) {

    /** "10.0.0.0/8", "2001:db8::/32", or a single address. IllegalArgumentException if it is not one. */
    public static Cidr parse(String s) {
        String t = s.trim();
        int slash = t.indexOf('/');
        String host = slash < 0 ? t : t.substring(0, slash);
        if (host.isEmpty() || !host.matches("[0-9A-Fa-f:.]+")) { // never a DNS lookup
            throw new IllegalArgumentException("'" + s + "' is not an IP address or CIDR network");
        }
        byte[] a;
        try {
            a = InetAddress.getByName(host).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + s + "' is not an IP address or CIDR network");
        }
        int prefix = a.length * 8;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(t.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + s + "': bad prefix length");
            }
            if (prefix < 0 || prefix > a.length * 8) {
                throw new IllegalArgumentException("'" + s + "': prefix length outside [0, " + a.length * 8 + "]");
            }
        }
        return new Cidr(a, prefix, t);
    }

    public boolean contains(InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length != network.length) {
            if (b.length == 16 && network.length == 4 && isMappedV4(b)) {
                b = Arrays.copyOfRange(b, 12, 16);
            } else {
                return false;
            }
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (b[i] != network[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xFF << (8 - rest)) & 0xFF;
        return (b[full] & mask) == (network[full] & mask);
    }

    private static boolean isMappedV4(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
    }

    @Override
    public String toString() {
        return text;
    }
}
