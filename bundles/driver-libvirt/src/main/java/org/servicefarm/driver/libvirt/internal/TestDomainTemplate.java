package org.servicefarm.driver.libvirt.internal;

import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmSpec;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/** libvirt's test driver runs nothing: {@code <domain type='test'>} with the spec's size and no devices. */
final class TestDomainTemplate implements DomainTemplate {

    static final TestDomainTemplate INSTANCE = new TestDomainTemplate();

    private TestDomainTemplate() {
    }

    @Override
    public String render(VmSpec spec, FarmMetadata metadata, HostSettings settings) throws HypervisorException {
        Document document = DomainXml.skeleton("test", spec, metadata);
        Element domain = document.getDocumentElement();
        DomainXml.text(DomainXml.child(domain, "os"), "type", "hvm");
        DomainXml.lifecycleActions(domain);
        return DomainXml.serialize(document);
    }
}
