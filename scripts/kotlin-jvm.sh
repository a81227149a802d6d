# Sourced by the scripts that compile Kotlin with the pinned kotlinc and run JUnit tests
# on the JVM against the host library (scripts/test-bindings.sh, android/scripts/check.sh).
# Run from the repository root.
kotlin_home=scripts/toolchain/node_modules/kotlin-compiler
kotlin_test_classpath=$(printf '%s:' /usr/share/java/jna.jar "$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar" \
    /usr/share/java/junit4.jar /usr/share/java/hamcrest.jar "$kotlin_home/lib/kotlin-test.jar" \
    "$kotlin_home/lib/kotlin-test-junit.jar")
kotlin_test_classpath=${kotlin_test_classpath%:}

# kotlin_compile JAR SOURCE...: compile against JNA, coroutines and JUnit (warnings off:
# the generated bindings have many).
kotlin_compile() {
    local jar=$1
    shift
    "$kotlin_home/bin/kotlinc" -nowarn -cp "$kotlin_test_classpath" -d "$jar" "$@"
}

# junit_run JAR [-Dname=value...] TEST_CLASS...: run with the host library on JNA's path.
junit_run() {
    local jar=$1
    shift
    local properties=() classes=()
    for arg in "$@"; do
        if [[ "$arg" == -D* ]]; then properties+=("$arg"); else classes+=("$arg"); fi
    done
    java -cp "$jar:$kotlin_test_classpath:$kotlin_home/lib/kotlin-stdlib.jar" \
        -Djna.library.path="$PWD/target/debug" "${properties[@]}" \
        org.junit.runner.JUnitCore "${classes[@]}"
}
