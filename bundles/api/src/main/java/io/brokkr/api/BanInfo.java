package io.brokkr.api;

import java.time.Instant;

/**
 * An address or network the broker refuses connections from (CONNACK 0x8A Banned, 3.1.1 return code 5) until a
 * time: banned for failed logins, or by hand ({@code mqtt:ban}).
 *
 * @param address the address or CIDR network, as banned
 * @param until   when the ban ends
 * @param reason  why ("10 failed logins within 60 s", or the reason given by hand)
 */
public record BanInfo(String address, Instant until, String reason) {
}
