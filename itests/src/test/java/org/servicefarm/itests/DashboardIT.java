package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;


import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The dashboard in a real headless Chromium against the assembled appliance: a wrong login is refused, a viewer's
 * login draws the three hosts, and a VM asked for through REST appears and goes from booting to ACTIVE on the same
 * page (no reload), with the request's outcomes listed. The last screen is kept as target/dashboard-it.png.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DashboardIT extends BootedAppliance {

    private static final String SCREENSHOT_PROPERTY = "servicefarm.it.screenshot";
    private static final String TIMERS = "org.servicefarm.keepalive.fixed";

    @Override
    @Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>(List.of(ApplianceOptions.boot()));
        // evaluated in the build's JVM: where the screenshot goes, outside the appliance's throw-away folder
        options.add(systemProperty(SCREENSHOT_PROPERTY).value(new File("target/dashboard-it.png").getAbsolutePath()));
        return options.toArray(Option[]::new);
    }

    @Test
    public void aViewerLogsInAndSeesANewVmAppearAndBecomeActiveWithoutAReload() throws Exception {
        int port = Integer.parseInt(System.getProperty(ApplianceOptions.HTTP_PORT_PROPERTY));

        // the page is public (it holds no data) and forbids inline scripts; its data is not
        HttpResponse<String> page = client.get("/dashboard/", null);
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("script-src 'self'"));
        assertEquals(401, client.get("/events", null).statusCode());
        HttpResponse<String> snapshot = client.get("/events?follow=false", Login.VIEWER);
        assertEquals(snapshot.body(), 200, snapshot.statusCode());
        assertTrue(snapshot.body(), snapshot.body().startsWith("event: snapshot\ndata: {\"hosts\":[{\"name\":\"alpha\""));
        HttpResponse<String> bad = client.get("/events?follow=maybe", Login.VIEWER);
        assertEquals(400, bad.statusCode());
        assertEquals("follow", FarmClient.json(bad).path("field").asText());

        try (HeadlessChromium browser = new HeadlessChromium()) {
            browser.navigate("http://127.0.0.1:" + port + "/dashboard/");
            logIn(browser, "viewer", "wrong");
            JsonNode refused = browser.awaitValue("document.getElementById('login-error').textContent",
                    v -> !v.asText().isEmpty(), Duration.ofSeconds(15));
            assertTrue(refused.asText(), refused.asText().contains("wrong user name or password"));
            assertTrue(browser.eval("document.getElementById('farm').hidden").asBoolean());

            logIn(browser, "viewer", "viewer");
            browser.awaitValue("document.getElementById('status').dataset.status", v -> v.asText().equals("live"),
                    Duration.ofSeconds(15));
            JsonNode hosts = browser.awaitValue(
                    "[...document.querySelectorAll('#hosts .host')].map(h => h.dataset.host).join(',')",
                    v -> v.asText().equals("alpha,beta,gamma"), Duration.ofSeconds(15));
            assertEquals("alpha,beta,gamma", hosts.asText());
            assertEquals(0, browser.eval("document.querySelectorAll('[data-service=\"static-site\"].vm').length")
                    .asInt());
            // marks this page and records every state a static-site VM is drawn in, as the page changes
            browser.eval("window.samePage = true; window.seen = [];"
                    + "new MutationObserver(() => document.querySelectorAll('.vm[data-service=\"static-site\"]')"
                    + ".forEach(c => { if (window.seen[window.seen.length - 1] !== c.dataset.state)"
                    + " window.seen.push(c.dataset.state); }))"
                    + ".observe(document.getElementById('hosts'), {childList: true, subtree: true}); true");

            FarmClient.Grant grant = client.requestUntilGranted("{\"service\":\"static-site\"}", Duration.ofSeconds(60));
            String vm = grant.vmId();
            JsonNode state = browser.awaitValue("(document.querySelector('.vm[data-vm=\"" + vm + "\"]') || {dataset: {}})"
                    + ".dataset.state || ''", v -> v.asText().equals("ACTIVE"), Duration.ofSeconds(15));
            assertEquals("ACTIVE", state.asText());
            JsonNode seen = browser.eval("window.seen");
            assertTrue("drawn while it booted, then ACTIVE: " + seen, seen.size() >= 2
                    && !seen.get(0).asText().equals("ACTIVE") && seen.get(seen.size() - 1).asText().equals("ACTIVE"));
            assertEquals(grant.hostId(), browser.eval("document.querySelector('.vm[data-vm=\"" + vm + "\"]')"
                    + ".closest('.host').dataset.host").asText());
            JsonNode outcomes = browser.awaitValue("[...document.querySelectorAll('#answers li[data-service=\"static-site\"]')]"
                    + ".map(a => a.dataset.outcome).join(',')", v -> v.asText().startsWith("GRANTED"),
                    Duration.ofSeconds(10));
            if (grant.retries() > 0) {
                assertTrue(outcomes.asText(), outcomes.asText().contains("RETRY_LATER"));
            }
            // the keep-alive panel names the policy in force (the fixed timers: no plan per combination)
            browser.awaitValue("document.getElementById('keepalive-policy').textContent",
                    v -> v.asText().equals("fixed"), Duration.ofSeconds(10));
            assertEquals("no plan per combination", browser.eval("document.getElementById('keepalive').textContent")
                    .asText());
            // a learning policy's plan as the feed sends it: when, relative to now, and the reading, as text
            browser.eval("handlers.keepalive({policy: 'adaptive', combinations: [{offering: '<b>o</b>', idleTimes: 3,"
                    + " lastRequest: '', warmFrom: new Date(Date.now() + 120000).toISOString(),"
                    + " warmUntil: new Date(Date.now() + 180000).toISOString(), reading: 'a timer'}]}); true");
            assertEquals("<b>o</b>: wanted in memory in 2m, for 1m (a timer)",
                    browser.eval("document.getElementById('keepalive').textContent").asText());
            assertEquals(0, browser.eval("document.querySelectorAll('#keepalive b').length").asInt());
            assertTrue("the same page, not reloaded", browser.eval("window.samePage === true").asBoolean());
            assertFalse(browser.eval("document.getElementById('farm').hidden").asBoolean());
            assertEquals("none", browser.eval("getComputedStyle(document.getElementById('login')).display").asText());

            // a configuration refused stands above everything until it is mended
            assertTrue(browser.eval("document.getElementById('refused').hidden").asBoolean());
            setArchiveTier("GOLD");
            JsonNode typo = browser.awaitValue("(document.querySelector('#refused-list li[data-pid=\"" + TIMERS
                    + "\"]') || {}).textContent || ''", v -> !v.asText().isEmpty(), Duration.ofSeconds(15));
            assertEquals(TIMERS + ": archive.tier must be SAVED, COMPRESSED or DELTA, not 'GOLD'; the settings before "
                    + "it stay in force", typo.asText());
            assertFalse(browser.eval("document.getElementById('refused').hidden").asBoolean());
            setArchiveTier("SAVED");
            browser.awaitValue("document.getElementById('refused').hidden", JsonNode::asBoolean, Duration.ofSeconds(15));

            // a service a host runs itself, added over REST, shows with whether it answers (nothing listens on port 1)
            assertTrue(browser.eval("document.getElementById('natives').hidden").asBoolean());
            JsonNode wiki = FarmClient.json(client.post("/api/v1/requests?explain=true", "{\"service\":\"wiki\"}",
                    Login.OPERATOR)).path("offering");
            assertEquals(201, client.post("/api/v1/natives", "{\"name\":\"s140-wiki\",\"host\":\"s140\","
                    + "\"endpoint\":{\"host\":\"127.0.0.1\",\"port\":1},\"offering\":" + wiki + "}", Login.ADMIN)
                    .statusCode());
            JsonNode shown = browser.awaitValue("(document.querySelector('#natives-list li[data-name=\"s140-wiki\"]')"
                    + " || {}).textContent || ''", v -> !v.asText().isEmpty(), Duration.ofSeconds(15));
            assertTrue(shown.asText(), shown.asText().startsWith("s140-wiki: " + wiki.path("service").asText() + "@"));
            assertTrue(shown.asText(), shown.asText().contains(" on s140 at 127.0.0.1:1, not answering ("));
            assertFalse(browser.eval("document.getElementById('natives').hidden").asBoolean());
            assertEquals(204, client.delete("/api/v1/natives/s140-wiki", Login.ADMIN).statusCode());
            browser.awaitValue("document.getElementById('natives').hidden", JsonNode::asBoolean, Duration.ofSeconds(15));

            // names are checked by the API's grammar before they reach the page; the page must be safe without that:
            // markup in a name handed to its event handlers stays text
            browser.eval("handlers.answer({at: '', service: '<img src=x onerror=\"window.pwned=1\">', outcome: 'NEVER',"
                    + " detail: '<b>bold</b>'}); handlers.vm({id: 'sf-x', host: '<script>window.pwned=2</script>',"
                    + " service: '<i>s</i>', offering: 'o', state: 'ACTIVE', grants: 0});"
                    + " handlers.refused([{pid: '<u>p</u>', reason: '<img src=x onerror=\"window.pwned=3\">',"
                    + " inForce: '<i>f</i>'}]); handlers.natives([{name: '<u>n</u>', host: 'h', offering: '<i>o</i>',"
                    + " endpoint: 'e', answering: false, detail: '<img src=x onerror=\"window.pwned=4\">', grants: 0}]);"
                    + " true");
            browser.awaitValue("document.getElementById('answers').textContent.includes('<img src=x')", JsonNode::asBoolean,
                    Duration.ofSeconds(5));
            assertEquals(0, browser.eval("document.querySelectorAll('#answers img, #answers b, #hosts script, #hosts i,"
                    + " #refused img, #refused u, #refused i, #natives img, #natives u, #natives i').length").asInt());
            assertTrue(browser.eval("[...document.querySelectorAll('.host')].some(h => h.dataset.host"
                    + " === '<script>window.pwned=2</script>')").asBoolean());
            FarmClient.pause(500);
            assertTrue("no injected script ran", browser.eval("window.pwned === undefined").asBoolean());

            Path screenshot = Path.of(System.getProperty(SCREENSHOT_PROPERTY));
            browser.screenshot(screenshot);
            assertTrue(Files.size(screenshot) > 1000);
        }
    }

    private void setArchiveTier(String tier) throws Exception {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(TIMERS, "?");
        java.util.Dictionary<String, Object> properties = configuration.getProperties();
        properties.put("archive.tier", tier);
        configuration.update(properties);
    }

    private static void logIn(HeadlessChromium browser, String user, String password) {
        browser.eval("document.getElementById('user').value = " + FarmClient.JSON.valueToTree(user) + ";"
                + "document.getElementById('password').value = " + FarmClient.JSON.valueToTree(password) + ";"
                + "document.querySelector('#login button').click(); true");
    }
}
