package org.servicefarm.api.testing;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;

/**
 * A service manager for front ends' tests (shared through this module's test jar, so that bundles need no test
 * dependency on one another): its state table and hosts are the lists a test fills, and requests are answered by
 * the function the test gives ({@link #answering}); what a test does not give is refused with
 * UnsupportedOperationException.
 */
public class ListedFarm implements LocalServiceManager {

    public final List<VmRecord> vms = new CopyOnWriteArrayList<>();
    public final List<HostStatus> hosts = new CopyOnWriteArrayList<>();
    public final List<ServiceRequest> asked = new CopyOnWriteArrayList<>();
    public final List<NativeServiceStatus> natives = new CopyOnWriteArrayList<>();
    private volatile Function<ServiceRequest, CompletionStage<Outcome>> answers;
    private volatile DirectoryView directory;

    /** Requests are answered by {@code answers}, asynchronously as it chooses; request() waits for it. */
    public ListedFarm answering(Function<ServiceRequest, CompletionStage<Outcome>> answers) {
        this.answers = answers;
        return this;
    }

    public ListedFarm withDirectory(DirectoryView directory) {
        this.directory = directory;
        return this;
    }

    @Override
    public Outcome request(ServiceRequest request) {
        return requestAsync(request).toCompletableFuture().join();
    }

    @Override
    public CompletionStage<Outcome> requestAsync(ServiceRequest request) {
        if (answers == null) {
            throw new UnsupportedOperationException("this test answers no request");
        }
        asked.add(request);
        return answers.apply(request);
    }

    @Override
    public DirectoryView directory() {
        if (directory == null) {
            throw new UnsupportedOperationException("this test has no directory");
        }
        return directory;
    }

    @Override
    public StateTableView stateTable() {
        return new StateTableView() {
            @Override
            public List<VmRecord> vms() {
                return List.copyOf(vms);
            }

            @Override
            public Optional<VmRecord> vm(String id) {
                return vms.stream().filter(vm -> vm.id().equals(id)).findFirst();
            }

            @Override
            public List<VmRecord> offering(Offering offering) {
                return vms.stream().filter(vm -> vm.offering().equals(offering)).toList();
            }
        };
    }

    @Override
    public List<HostStatus> hosts() {
        return List.copyOf(hosts);
    }

    @Override
    public List<NativeServiceStatus> natives() {
        return List.copyOf(natives);
    }

    @Override
    public HostStatus registerHost(HostRecord host) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void unregisterHost(String name) {
        throw new UnsupportedOperationException();
    }
}
