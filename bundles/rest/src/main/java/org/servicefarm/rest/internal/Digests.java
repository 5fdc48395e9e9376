package org.servicefarm.rest.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/** SHA-256 digests of client text, so that caches keep neither passwords nor arbitrarily long strings. */
final class Digests {

    private Digests() {
    }

    /** The Base64 of the SHA-256 of {@code text}'s UTF-8 bytes: 44 characters, whatever the text. */
    static String sha256(String text) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }
}
