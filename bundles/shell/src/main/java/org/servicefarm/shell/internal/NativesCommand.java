package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.LocalServiceManager;

/** farm:natives: the services hosts run themselves, and whether each answers. */
@Command(scope = "farm", name = "natives", description = "Lists the services hosts run themselves "
        + "(etc/org.servicefarm.native-*.cfg): requests for their offerings are granted there, without a VM, while "
        + "they answer.")
@Service
public class NativesCommand implements Action {

    @Reference
    LocalServiceManager manager;

    @Override
    public Object execute() {
        Tables.print(Formats.NATIVE_COLUMNS, manager.natives().stream().map(Formats::nativeRow).toList(),
                "No native services configured.", System.out);
        return null;
    }
}
