package org.servicefarm.driver.xapi.simulator;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The pool's own TLS identity, made at its first start as XenServer and XCP-ng make theirs: a key pair and a
 * self-signed certificate for 127.0.0.1, by the JDK's keytool; the certificate also as PEM, for a client to trust.
 */
final class SelfSignedCertificate {

    private static final String PASSWORD = "simulated-pool";

    private SelfSignedCertificate() {
    }

    /** Makes the key and certificate in {@code dir} ({@code pool.p12}, {@code pool.pem}): the server's TLS. */
    static SSLContext make(Path dir) {
        Path store = dir.resolve("pool.p12");
        try {
            Files.deleteIfExists(store);
            keytool("-genkeypair", "-alias", "pool", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                    "CN=simulated-pool", "-ext", "SAN=ip:127.0.0.1", "-validity", "30", "-storetype", "PKCS12",
                    "-keystore", store.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
            keytool("-exportcert", "-rfc", "-alias", "pool", "-keystore", store.toString(), "-storepass", PASSWORD,
                    "-file", pem(dir).toString());
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                keys.load(in, PASSWORD.toCharArray());
            }
            KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(keys, PASSWORD.toCharArray());
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(factory.getKeyManagers(), null, null);
            return tls;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot load the key keytool made", e);
        }
    }

    static Path pem(Path dir) {
        return dir.resolve("pool.pem");
    }

    private static void keytool(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IOException("keytool " + args[0] + " failed: " + output.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while keytool ran", e);
        }
    }
}
