package org.servicefarm.driver.xapi.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.driver.xapi.simulator.XapiSimulator;

/** A pool over HTTPS with a self-signed certificate of its own, as XenServer and XCP-ng serve one. */
class PoolCertificatesTest {

    @TempDir
    Path dir;
    private XapiSimulator pool;
    private HostRecord host;

    @BeforeEach
    void setUp() {
        pool = XapiSimulator.startTls(dir.resolve("pool"), "root", "secret", "xen-a");
        host = new HostRecord("xen1", "xapi", pool.url(), new Capacity(8, 8192, 8), 0.04, "standard", Map.of(), 1.0);
    }

    @AfterEach
    void tearDown() {
        pool.close();
    }

    @Test
    void aPoolIsTrustedByTheCertificateNamedAndByNoneOther() throws Exception {
        assertTrue(pool.url().startsWith("https://"));
        XapiHostConnection connection = connect(PoolCertificates.trusting(pool.certificate()));
        try {
            assertEquals(List.of(), connection.guests());
        } finally {
            connection.close();
        }
        int logins = pool.calls("session.login_with_password");
        try (XapiSimulator other = XapiSimulator.startTls(dir.resolve("other"), "root", "secret")) {
            for (SSLContext trust : new SSLContext[] {PoolCertificates.trusting(other.certificate()), null}) {
                HypervisorException refused = assertThrows(HypervisorException.class, () -> connect(trust));
                assertTrue(refused.getMessage().contains("is not trusted"), refused.getMessage());
            }
        }
        assertEquals(logins, pool.calls("session.login_with_password"), "no password went to an untrusted pool");
    }

    @Test
    void aFileWithoutCertificatesIsRefused() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.pem"), "");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PoolCertificates.trusting(empty)).getMessage()
                .contains("holds no certificate"));
        assertThrows(IllegalArgumentException.class, () -> PoolCertificates.trusting(dir.resolve("missing.pem")));
    }

    private XapiHostConnection connect(SSLContext trust) throws HypervisorException {
        XapiDriver.Settings settings = new XapiDriver.Settings(Set.of(XapiHostSettings.poolAddress(pool.url())),
                trust, "root", "secret", Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5),
                dir.resolve("boot"), Path.of("/usr/sbin/mke2fs"));
        return XapiHostConnection.open(host, XapiHostSettings.of(host, settings.pools()), settings, event -> { },
                closed -> { });
    }
}
