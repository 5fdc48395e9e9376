package org.servicefarm.rest.internal;

import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

import javax.ws.rs.container.AsyncResponse;

import org.slf4j.MDC;

/** Answers a suspended request when a stage of the manager's completes: no thread is held meanwhile. */
final class AsyncAnswers {

    private AsyncAnswers() {
    }

    /**
     * Resumes {@code response} with {@code answer} of the stage's value, or with its failure, which reaches the
     * exception mappers like a thrown one.
     */
    static <T> void resume(AsyncResponse response, CompletionStage<T> stage, Function<T, Object> answer) {
        String requestId = MDC.get(RequestIdFilter.MDC_KEY);
        stage.whenComplete((value, failure) -> {
            // the answer may come on one of the manager's threads: what it logs carries the request's id
            MDC.put(RequestIdFilter.MDC_KEY, requestId == null ? "-" : requestId);
            try {
                if (failure != null) {
                    response.resume(failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure);
                } else {
                    response.resume(answer.apply(value));
                }
            } finally {
                MDC.remove(RequestIdFilter.MDC_KEY);
            }
        });
    }
}
