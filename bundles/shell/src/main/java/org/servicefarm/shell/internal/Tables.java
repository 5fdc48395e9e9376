package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.util.List;

import org.apache.karaf.shell.support.table.Row;
import org.apache.karaf.shell.support.table.ShellTable;

/** Prints rows from {@link Formats} as a Karaf ShellTable. */
final class Tables {

    private Tables() {
    }

    static void print(List<String> columns, List<List<String>> rows, String whenEmpty, PrintStream out) {
        ShellTable table = new ShellTable().emptyTableText(whenEmpty);
        columns.forEach(table::column);
        for (List<String> cells : rows) {
            Row row = table.addRow();
            row.addContent(List.<Object>copyOf(cells));
        }
        table.print(out);
    }
}
