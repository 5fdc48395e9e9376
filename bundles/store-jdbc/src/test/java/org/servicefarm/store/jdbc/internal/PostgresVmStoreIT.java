package org.servicefarm.store.jdbc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The store on a real PostgreSQL: the project's scripts/postgres starts a throwaway server on a loopback port when
 * none of ours runs (installing Debian's server when missing) and this test stops it again if it started it.
 */
class PostgresVmStoreIT extends VmStoreContract {
    private static final Path SCRIPT = Path.of(System.getProperty("sf.project.root", "../.."), "scripts", "postgres");
    private static String url;
    private static boolean started;

    @BeforeAll
    static void server() throws Exception {
        started = run("url") != 0;
        assertEquals(0, run("start"), "scripts/postgres start failed");
        url = output.strip();
    }

    @AfterAll
    static void stop() throws Exception {
        if (started) {
            run("stop");
        }
    }

    @Override
    DataSource dataSource() {
        PGSimpleDataSource pg = new PGSimpleDataSource();
        pg.setURL(url);
        pg.setUser("servicefarm");
        pg.setPassword("servicefarm");
        return pg;
    }

    private static String output = "";

    private static int run(String command) throws IOException, InterruptedException {
        Path log = Files.createTempFile("postgres-", ".out");
        try {
            Process p = new ProcessBuilder(SCRIPT.toString(), command).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            int exit = p.waitFor();
            output = Files.readString(log, StandardCharsets.UTF_8);
            return exit;
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
