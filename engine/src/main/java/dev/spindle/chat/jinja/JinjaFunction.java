package dev.spindle.chat.jinja;

import java.util.List;
import java.util.Map;

/** Something a template can call: a global function ({@code raise_exception}), a macro or a bound method. */
@FunctionalInterface
public interface JinjaFunction {

    Object call(List<Object> args, Map<String, Object> kwargs);
}
