package io.github.zmqliveness;

import org.junit.jupiter.api.Test;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every Java snippet in the README compiles, exactly as printed, against the library. A snippet that uses names it
 * does not declare (the router of an earlier snippet, a logger) says so in an HTML comment just above it, invisible
 * on the rendered page: {@code <!-- snippet context: LivenessRouter router, byte[] answer -->}; those become the
 * parameters of the method the snippet is compiled in. Imports are given.
 */
class ReadmeSnippetsTest {
    private static final Pattern BLOCK = Pattern.compile(
            "(?:<!-- snippet context: ([^>]*) -->\\s*\\n)?```java\\n(.*?)\\n```", Pattern.DOTALL);
    private static final String IMPORTS = "import io.github.zmqliveness.*;\n"
            + "import java.time.Duration;\nimport java.util.*;\nimport org.slf4j.Logger;\nimport org.zeromq.*;\n";

    @Test
    void everyJavaSnippetInTheReadmeCompiles() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        Matcher m = BLOCK.matcher(readme);
        List<JavaFileObject> sources = new ArrayList<>();
        List<String> shown = new ArrayList<>();
        while (m.find()) {
            int n = sources.size();
            String params = m.group(1) == null ? "" : m.group(1).trim();
            String code = IMPORTS + "class ReadmeSnippet" + n + " {\n    void run(" + params + ") throws Exception {\n"
                    + m.group(2) + "\n    }\n}\n";
            shown.add(m.group(2));
            sources.add(new SimpleJavaFileObject(URI.create("string:///ReadmeSnippet" + n + ".java"), JavaFileObject.Kind.SOURCE) {
                @Override
                public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                    return code;
                }
            });
        }
        assertTrue(sources.size() >= 4, "the README's Java snippets were found: " + sources.size());
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        Path out = Files.createTempDirectory("readme-snippets");
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            boolean ok = javac.getTask(null, files, diagnostics,
                    List.of("-classpath", System.getProperty("java.class.path"), "-d", out.toString(), "-proc:none"), null, sources).call();
            StringBuilder errors = new StringBuilder();
            for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
                if (d.getKind() == Diagnostic.Kind.ERROR) {
                    String name = d.getSource() == null ? "?" : d.getSource().getName();
                    int snippet = name.isEmpty() ? -1 : Integer.parseInt(name.replaceAll("\\D", ""));
                    errors.append("README snippet ").append(snippet + 1).append(", line ").append(d.getLineNumber() - 7)
                            .append(": ").append(d.getMessage(null)).append('\n')
                            .append(snippet >= 0 ? shown.get(snippet) : "").append("\n\n");
                }
            }
            assertEquals("", errors.toString());
            assertTrue(ok);
        }
    }
}
