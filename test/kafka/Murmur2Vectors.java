// Prints test/kafka/murmur2-vectors.json from the real Kafka Java client (kafka-clients, the jars
// deploy/kafka/kafka.sh caches), so partitionFor is pinned to what Java producers compute:
//   java -cp "$(bash deploy/kafka/kafka.sh classpath)" test/kafka/Murmur2Vectors.java > test/kafka/murmur2-vectors.json
// (Java 11+ runs a single source file directly; nothing is compiled into the tree.)
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.internals.AppInfoParser;
import org.apache.kafka.common.utils.Utils;

public class Murmur2Vectors {
  static final int[] PARTITIONS = {1, 3, 6, 7, 100};

  public static void main(String[] args) {
    List<String> keys = new ArrayList<>(List.of(
        "", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh", "abcdefghi",
        "demo-1", "demo-2", "support-7", "session-0001", "s-1",
        "01J9Z3K8Q4W5E6R7T8Y9U0IOPA", "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "quote\"and\\backslash", "tab\tnew\nline", "~!@#$%^&*()_+`-={}|[]:;'<>?,./",
        "é", "naïve-café", "日本語のセッション", "세션-42", "Ωμέγα", "🙂", "agent-🚀-x", "a€b£c¥",
        "\u00ff\u00fe\u00fd\u00fc"));
    keys.add("x".repeat(1000));
    keys.add("session-".repeat(37) + "end");
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    out.println("{");
    out.println("  \"generatedBy\": \"java -cp \\\"$(bash deploy/kafka/kafka.sh classpath)\\\" test/kafka/Murmur2Vectors.java > test/kafka/murmur2-vectors.json\",");
    out.println("  \"kafkaClients\": \"" + AppInfoParser.getVersion() + "\",");
    out.println("  \"vectors\": [");
    for (int i = 0; i < keys.size(); i++) {
      String key = keys.get(i);
      int hash = Utils.murmur2(key.getBytes(StandardCharsets.UTF_8));
      StringBuilder parts = new StringBuilder();
      for (int n : PARTITIONS) {
        if (parts.length() > 0) parts.append(", ");
        // The default partitioner's rule (BuiltInPartitioner.partitionForKey).
        parts.append('"').append(n).append("\": ").append(Utils.toPositive(hash) % n);
      }
      out.print("    { \"key\": " + json(key) + ", \"murmur2\": " + hash + ", \"partition\": { " + parts + " } }");
      out.println(i + 1 < keys.size() ? "," : "");
    }
    out.println("  ]");
    out.println("}");
  }

  static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
}
